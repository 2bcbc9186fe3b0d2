//! `--textfile-dir DIR`: a one-shot run leaves its metrics in `DIR/sgsync.prom` for
//! node-exporter's textfile collector. Written to a temporary file in DIR and renamed
//! over the old one, so the collector never reads half a file; the temporary name does
//! not end in `.prom`, so the collector never reads it either.

use std::io::Write;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "sgsync.prom";

/// The textfile could not be written.
#[derive(Debug, thiserror::Error)]
#[error("--textfile-dir {}: {why}", dir.display())]
pub struct TextfileError {
    pub dir: PathBuf,
    pub why: String,
}

fn temp_path(dir: &Path) -> PathBuf {
    dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()))
}

/// Checks before a run that DIR is a directory we can create files in, so a wrong
/// path stops the run before it syncs anything instead of after.
pub fn check_dir(dir: &Path) -> Result<(), TextfileError> {
    let fail = |why: String| TextfileError {
        dir: dir.to_path_buf(),
        why,
    };
    let meta = std::fs::metadata(dir).map_err(|e| fail(e.to_string()))?;
    if !meta.is_dir() {
        return Err(fail("not a directory".into()));
    }
    let probe = temp_path(dir);
    std::fs::File::create(&probe).map_err(|e| fail(format!("cannot create a file: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Replaces `DIR/sgsync.prom` by `contents` atomically; returns its path.
pub fn write(dir: &Path, contents: &str) -> Result<PathBuf, TextfileError> {
    let fail = |why: String| TextfileError {
        dir: dir.to_path_buf(),
        why,
    };
    let temp = temp_path(dir);
    let target = dir.join(FILE_NAME);
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents.as_bytes())?;
        // On disk before the rename, so a crash leaves the old file or the new one.
        file.sync_all()?;
        // node-exporter runs as another user; a service's strict umask must not hide it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        std::fs::rename(&temp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(format!("cannot write {FILE_NAME}: {e}")));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sgsync-textfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary() {
        let dir = scratch("replace");
        check_dir(&dir).unwrap();
        write(&dir, "a 1\n").unwrap();
        let path = write(&dir, "a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_or_plain_file_dir_is_refused_with_its_path() {
        let dir = scratch("refused");
        let missing = dir.join("nope");
        let e = check_dir(&missing).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let file = dir.join("file");
        std::fs::write(&file, "").unwrap();
        assert!(
            check_dir(&file)
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
        assert!(write(&missing, "x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
