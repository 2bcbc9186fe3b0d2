//! Where the state lives: a SQLite file (the embedded default) or a PostgreSQL database,
//! from `[store] url` (or the older `[store] path`). The PostgreSQL password is part of
//! the URL sqlx connects with, so the URL is held as a secret; what people see of it
//! ([`StoreUrl`]'s `Display`) names user, host, port and database, never the password.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::path::{Path, PathBuf};

/// A state database's address.
#[derive(Clone)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
}

/// A `postgres://` URL, password included (from the URL itself or a `password_file`).
#[derive(Clone)]
pub struct PostgresUrl {
    full: SecretString,
    shown: String,
}

impl PostgresUrl {
    /// The URL to connect with (password included): for sqlx only.
    pub(crate) fn connect_url(&self) -> &str {
        self.full.expose_secret()
    }
}

impl StoreUrl {
    /// Reads `text`: `postgres://…` / `postgresql://…`, `sqlite://<path>`, or a bare path
    /// (SQLite). `password` (from `password_file`) goes into a PostgreSQL URL that has
    /// none; a URL that has one as well is refused, so it is never unclear which is used.
    pub fn parse(text: &str, password: Option<&str>) -> Result<StoreUrl, String> {
        let text = text.trim();
        if let Some(rest) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            if password.is_some() {
                return Err("a SQLite store takes no password; remove password_file".to_owned());
            }
            if rest.is_empty() {
                return Err("names no file after sqlite://".to_owned());
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(rest)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return parse_postgres(text, password).map(StoreUrl::Postgres);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "the scheme {scheme}:// is not a store sgsync knows; use postgres://… or sqlite://… (or a file path)"
            ));
        }
        if text.is_empty() {
            return Err("is empty; name a SQLite file or a postgres:// URL".to_owned());
        }
        if password.is_some() {
            return Err("a SQLite store takes no password; remove password_file".to_owned());
        }
        Ok(StoreUrl::Sqlite(PathBuf::from(text)))
    }

    /// A SQLite file.
    pub fn sqlite(path: impl Into<PathBuf>) -> StoreUrl {
        StoreUrl::Sqlite(path.into())
    }

    /// The SQLite file, for what only a file has (a backup by `VACUUM INTO`, a probe of
    /// its directory).
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            StoreUrl::Sqlite(path) => Some(path),
            StoreUrl::Postgres(_) => None,
        }
    }
}

fn parse_postgres(text: &str, password: Option<&str>) -> Result<PostgresUrl, String> {
    // The url crate's own message may quote the text, password and all: never show it.
    let mut url = url::Url::parse(text).map_err(|e| {
        format!(
            "is not a valid postgres:// URL ({e}); the form is postgres://user@host:port/database"
        )
    })?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err("names no host; the form is postgres://user@host:port/database".to_owned());
    }
    if url.query_pairs().any(|(k, _)| k == "password") {
        return Err(
            "holds the password as a query parameter; use password_file (or the URL's user:password@ part)"
                .to_owned(),
        );
    }
    match (url.password().is_some(), password) {
        (true, Some(_)) => {
            return Err(
                "holds a password and password_file gives one too; keep only one of them"
                    .to_owned(),
            );
        }
        (false, Some(p)) => url
            .set_password(Some(p))
            .map_err(|()| "cannot take a password (it names no host)".to_owned())?,
        _ => {}
    }
    let mut shown = url.clone();
    // Infallible for a URL with a host (checked above); a failure would only keep the
    // password out of `shown` by other means.
    if shown.set_password(None).is_err() {
        return Err("cannot be shown without its password".to_owned());
    }
    Ok(PostgresUrl {
        full: SecretString::from(String::from(url)),
        shown: String::from(shown),
    })
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "{}", path.display()),
            StoreUrl::Postgres(pg) => f.write_str(&pg.shown),
        }
    }
}

/// What `{:?}` shows: the same as `Display` (no password).
impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_sqlite_urls_are_files() {
        for text in [
            "/var/lib/sgsync/sgsync.db",
            "sqlite:///var/lib/sgsync/sgsync.db",
        ] {
            let url = StoreUrl::parse(text, None).unwrap();
            assert_eq!(
                url.sqlite_path(),
                Some(Path::new("/var/lib/sgsync/sgsync.db"))
            );
        }
        assert!(StoreUrl::parse("sqlite://", None).is_err());
        assert!(
            StoreUrl::parse("mysql://db/x", None)
                .unwrap_err()
                .contains("mysql://")
        );
        assert!(StoreUrl::parse("/a.db", Some("pw")).is_err());
    }

    #[test]
    fn a_postgres_password_is_used_but_never_shown() {
        let url = StoreUrl::parse(
            "postgres://sgsync@db.internal:5432/sgsync",
            Some("s3cr3t/?"),
        )
        .unwrap();
        let StoreUrl::Postgres(pg) = &url else {
            panic!("a postgres URL");
        };
        assert!(pg.connect_url().contains("s3cr3t"));
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("sgsync@db.internal:5432/sgsync"), "{shown}");
        let inline = StoreUrl::parse("postgresql://u:hunter2@h/d", None).unwrap();
        assert!(!inline.to_string().contains("hunter2"));
        assert!(
            StoreUrl::parse("postgres://u:hunter2@h/d", Some("x"))
                .unwrap_err()
                .contains("only one")
        );
        let bad = StoreUrl::parse("postgres://u:hunter2@[bad/d", None).unwrap_err();
        assert!(!bad.contains("hunter2"), "{bad}");
        assert!(StoreUrl::parse("postgres://h/d?password=x", None).is_err());
    }
}
