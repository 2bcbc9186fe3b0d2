//! The validated layer: [`Settings`], [`Endpoint`] and [`Target`], what the rest of
//! the program uses, and the validation from the raw layer to them. Everything that can
//! be wrong is found here, once; the errors go through the [`Loader`] so that they name
//! where each value came from.

use super::loader::{Blocks, Loader};
use super::raw::{RawConfig, RawHttp, RawMetrics, RawStore, RawSync};
use super::{ConfigError, DEFAULT_CONCURRENCY, DEFAULT_METRICS_LISTEN, MAX_CONCURRENCY};
use crate::engine::lease::LeaseSettings;
use crate::engine::plan::{OnDrift, OnLossy, OnSourceDeleted, OrphanGuard};
use crate::engine::run::SyncPolicy;
use crate::engine::verify::VerifyBudget;
use crate::model::ProviderKind;
use crate::model::mapping::{MappingError, Maps};
use crate::model::members::{Guard, MembershipMode, MembershipPolicy};
use crate::provider::http::{HttpSettings, validate_base_url};
use crate::provider::{Dialect, Provider, ProviderError};
use crate::registry::{self, Connection};
use crate::store::StoreUrl;
use config::Value;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A validated configuration: nothing in it needs checking again.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which pipeline this is: [`crate::store::DEFAULT_PIPELINE`] for a config's own
    /// `[source]`, the file name for one in `[pipelines] dir`.
    pub pipeline: String,
    pub source: Endpoint,
    /// `[source] skip_name_prefixes`: names of copies another pipeline made here.
    pub source_skip_prefixes: Vec<String>,
    /// In name order.
    pub targets: Vec<Target>,
    pub maps: Maps,
    pub schedule: cron::Schedule,
    /// The cron expression as written, for messages and `status`.
    pub schedule_text: String,
    /// Runs in a row that failed as a whole before `sgsync run` is not ready.
    pub unready_after: u32,
    /// The state database: a SQLite file or a PostgreSQL URL (never shown with its
    /// password).
    pub store: StoreUrl,
    /// Where `sgsync run` serves its health and metrics endpoint; `None` when
    /// `[metrics] enabled = false`.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Where one-shot runs push their run's gauges (`[metrics] pushgateway`), if at all.
    pub pushgateway: Option<crate::observe::push::Gateway>,
    /// The file read, if any (the default path may be absent: environment only).
    pub file: Option<PathBuf>,
    /// The run lock's lease, the orphan guard, the cap on creates.
    pub sync: SyncPolicy,
}

/// One provider account to talk to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `"source"`, or the target's name.
    pub name: String,
    pub provider: ProviderKind,
    /// The connection block, secrets resolved, typed by its provider's crate.
    pub connection: Arc<dyn Connection>,
    pub http: HttpSettings,
}

/// A target endpoint with its policy.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: Endpoint,
    pub on_lossy: OnLossy,
    pub on_source_deleted: OnSourceDeleted,
    pub name_prefix: Option<String>,
    /// 1..=64.
    pub concurrency: usize,
    pub membership: MembershipPolicy,
    pub on_drift: OnDrift,
    /// Calls per run for reading copies back (`verify_calls_per_run`, or sized from the
    /// schedule and the rate limit).
    pub verify: VerifyBudget,
}

// The validation half of the loader: it lives with the settings it builds, and it is a
// `Loader` method because every error it makes names where the value came from.
impl Loader {
    /// `raw` and the connection blocks taken out of it, checked into [`Settings`].
    pub(super) fn validate(
        &self,
        raw: RawConfig,
        mut blocks: Blocks,
    ) -> Result<Settings, ConfigError> {
        let http = &raw.http;
        self.check_http(http)?;
        let source = self.endpoint(
            &["source"],
            "source".to_owned(),
            &raw.source.provider,
            blocks.remove("source"),
            Budget {
                per_minute: raw.source.rate_limit_per_minute,
                burst: raw.source.rate_limit_burst,
            },
            http,
        )?;
        if raw.targets.is_empty() {
            return Err(self.invalid(&["targets"], "at least one target is needed"));
        }
        let mut targets = Vec::with_capacity(raw.targets.len());
        for (name, t) in raw.targets {
            let raw_membership = RawMembership {
                membership: t.membership,
                max_removal_fraction: t.max_removal_fraction,
                mass_removal_confirm_runs: t.mass_removal_confirm_runs,
            };
            let at = ["targets", name.as_str()];
            let endpoint = self.endpoint(
                &at,
                name.clone(),
                &t.provider,
                blocks.remove(&format!("targets.{name}")),
                Budget {
                    per_minute: t.rate_limit_per_minute,
                    burst: t.rate_limit_burst,
                },
                http,
            )?;
            if endpoint.provider == source.provider
                && endpoint_url(&endpoint) == endpoint_url(&source)
            {
                return Err(self.invalid(
                    &["targets", &name, endpoint.provider.as_str()],
                    "is the source itself (same provider and URL): a group would be synced onto itself",
                ));
            }
            if let Some(prefix) = &t.name_prefix
                && prefix.trim().is_empty()
            {
                return Err(self.invalid(
                    &["targets", &name, "name_prefix"],
                    "must not be blank; leave it out for no prefix",
                ));
            }
            let concurrency = t.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
            if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
                return Err(self.invalid(
                    &["targets", &name, "concurrency"],
                    format!("must be 1..={MAX_CONCURRENCY}, got {concurrency}"),
                ));
            }
            let membership = self.membership(&name, endpoint.provider, &raw_membership)?;
            targets.push(Target {
                endpoint,
                on_lossy: t.on_lossy,
                on_source_deleted: t.on_source_deleted,
                name_prefix: t.name_prefix,
                concurrency,
                membership,
                on_drift: t.on_drift,
                verify: t
                    .verify_calls_per_run
                    .map_or(VerifyBudget::default(), VerifyBudget::Calls),
            });
        }
        let maps = Maps::from_config(&raw.mapping).map_err(|MappingError { key, why }| {
            // Mapping keys are dotted paths starting at `mapping`; attribute names may
            // hold dots themselves, so the origin lookup is best effort.
            let segments: Vec<String> = key.split('.').map(str::to_owned).collect();
            ConfigError::Invalid {
                whence: self.whence(&segments),
                key,
                why,
            }
        })?;
        let schedule = cron::Schedule::try_from(raw.schedule.cron.as_str()).map_err(|e| {
            self.invalid(
                &["schedule", "cron"],
                format!(
                    "{:?} is not a cron expression (sec min hour day month weekday [year]): {e}",
                    raw.schedule.cron
                ),
            )
        })?;
        // The default verification budget: every link within a day at this schedule, at
        // most a tenth of the target's rate limit over the time between two runs.
        let between = between_runs(&schedule);
        for t in &mut targets {
            if let VerifyBudget::Auto { .. } = t.verify {
                let minutes = (between.as_secs() / 60).max(1) as usize;
                let rpm = t.endpoint.http.requests_per_minute as usize;
                t.verify = VerifyBudget::Auto {
                    runs_per_day: (86_400 / between.as_secs().max(1)).max(1) as usize,
                    cap: (rpm.saturating_mul(minutes) / 10).max(1),
                };
            }
        }
        let store = match &raw.store.url {
            Some(url) => {
                StoreUrl::parse(url, raw.store.password.as_ref().map(|p| p.expose_secret()))
                    .map_err(|why| self.invalid(&["store", "url"], why))?
            }
            None if raw.store.password.is_some() => {
                return Err(self.invalid(
                    &["store", "password"],
                    "is only for a postgres:// store; set [store] url",
                ));
            }
            None => StoreUrl::sqlite(raw.store.path.clone()),
        };
        let unready_after = raw
            .schedule
            .unready_after_failed_runs
            .unwrap_or(crate::observe::health::UNREADY_AFTER);
        if unready_after == 0 {
            return Err(self.invalid(
                &["schedule", "unready_after_failed_runs"],
                "must be at least 1 (runs in a row that failed before /readyz says not ready)",
            ));
        }
        if raw.store.path.as_os_str().is_empty() {
            return Err(self.invalid(&["store", "path"], "must not be empty"));
        }
        let metrics_listen = self.metrics_listen(&raw.metrics)?;
        let pushgateway = self.pushgateway(&raw.metrics)?;
        let endpoints = std::iter::once(&source).chain(targets.iter().map(|t| &t.endpoint));
        let sync = self.sync_policy(&raw.sync, &raw.store, endpoints)?;
        if let Some(i) = raw
            .source
            .skip_name_prefixes
            .iter()
            .position(|p| p.trim().is_empty())
        {
            return Err(self.invalid(
                &["source", "skip_name_prefixes"],
                format!("entry {} is blank; every prefix needs a character other than spaces (a blank one would skip every group)", i + 1),
            ));
        }
        Ok(Settings {
            pipeline: crate::store::DEFAULT_PIPELINE.to_owned(),
            source,
            source_skip_prefixes: raw.source.skip_name_prefixes,
            targets,
            maps,
            schedule,
            schedule_text: raw.schedule.cron,
            unready_after,
            store,
            metrics_listen,
            pushgateway,
            file: self.file.clone(),
            sync,
        })
    }

    /// `[sync]` and the run lock's timings in `[store]`.
    fn sync_policy<'e>(
        &self,
        sync: &RawSync,
        store: &RawStore,
        endpoints: impl Iterator<Item = &'e Endpoint>,
    ) -> Result<SyncPolicy, ConfigError> {
        let mut orphans = OrphanGuard::default();
        if let Some(f) = sync.max_orphan_fraction {
            if !(0.0..=1.0).contains(&f) {
                return Err(self.invalid(
                    &["sync", "max_orphan_fraction"],
                    format!("must be between 0.0 and 1.0, got {f}"),
                ));
            }
            orphans.max_fraction = f;
        }
        if let Some(n) = sync.orphan_confirm_runs {
            if n == 1 {
                return Err(self.invalid(
                    &["sync", "orphan_confirm_runs"],
                    "1 would apply every loss at once; use 2 or more, 0 (flag only), or max_orphan_fraction = 1.0 to turn the guard off",
                ));
            }
            orphans.confirm_runs = n;
        }
        if sync.max_creates_per_run == Some(0) {
            return Err(self.invalid(
                &["sync", "max_creates_per_run"],
                "must be at least 1; leave it out for no cap",
            ));
        }
        let mut lease = LeaseSettings::default();
        for (key, value) in [
            ("lock_lease_secs", store.lock_lease_secs),
            ("lock_renew_secs", store.lock_renew_secs),
        ] {
            if value == Some(0) {
                return Err(self.invalid(&["store", key], "must be at least 1"));
            }
        }
        if let Some(s) = store.lock_lease_secs {
            lease.length = Duration::from_secs(s);
        }
        if let Some(s) = store.lock_renew_secs {
            lease.renew_every = Duration::from_secs(s);
        }
        // The longest one call may keep going: every attempt to its timeout.
        let longest_call = endpoints
            .map(|e| {
                e.http
                    .timeout
                    .saturating_mul(e.http.max_retries.saturating_add(1))
            })
            .max()
            .unwrap_or_default();
        let needed = lease.renew_every.saturating_add(longest_call);
        if lease.length <= needed {
            return Err(self.invalid(
                &["store", "lock_lease_secs"],
                format!(
                    "{} s is too short: it must exceed lock_renew_secs ({} s) plus the longest provider call ([http] timeout_secs × (1 + max_retries) = {} s), so that a run paused past its lease has nothing in flight when another takes over; use at least {} or shorten the HTTP timeout",
                    lease.length.as_secs(),
                    lease.renew_every.as_secs(),
                    longest_call.as_secs(),
                    needed.as_secs() + 1
                ),
            ));
        }
        Ok(SyncPolicy {
            lease,
            orphans,
            max_creates_per_run: sync.max_creates_per_run,
        })
    }

    /// `membership`, `max_removal_fraction`, `mass_removal_confirm_runs` of one target.
    fn membership(
        &self,
        name: &str,
        provider: ProviderKind,
        t: &RawMembership,
    ) -> Result<MembershipPolicy, ConfigError> {
        // Only a provider whose static groups sgsync can write takes members (its crate
        // says so); the groups sgsync writes elsewhere are rules.
        let registered = registry::of(provider);
        let writable = registered.is_some_and(|r| r.holds_members());
        let by_default = registered.is_some_and(|r| r.membership_by_default());
        let mode = t.membership.unwrap_or(if by_default {
            MembershipMode::Always
        } else {
            MembershipMode::Off
        });
        if mode != MembershipMode::Off && !writable {
            let takers: Vec<&str> = registry::PROVIDERS
                .iter()
                .filter(|p| p.holds_members())
                .map(|p| p.kind().display_name())
                .collect();
            return Err(self.invalid(
                &["targets", name, "membership"],
                format!(
                    "must be \"off\" on a {} target: only {} hold static member lists sgsync can write",
                    provider.display_name(),
                    takers.join(", ")
                ),
            ));
        }
        let mut guard = Guard::default();
        if let Some(f) = t.max_removal_fraction {
            if !(0.0..=1.0).contains(&f) {
                return Err(self.invalid(
                    &["targets", name, "max_removal_fraction"],
                    format!("must be between 0.0 and 1.0, got {f}"),
                ));
            }
            guard.max_removal_fraction = f;
        }
        if let Some(n) = t.mass_removal_confirm_runs {
            if n == 1 {
                return Err(self.invalid(
                    &["targets", name, "mass_removal_confirm_runs"],
                    "1 would apply every drop at once; use 2 or more, 0 (flag only), or max_removal_fraction = 1.0 to turn the guard off",
                ));
            }
            guard.confirm_runs = n;
        }
        Ok(MembershipPolicy { mode, guard })
    }

    fn pushgateway(
        &self,
        metrics: &RawMetrics,
    ) -> Result<Option<crate::observe::push::Gateway>, ConfigError> {
        let Some(url) = metrics.pushgateway.as_deref().map(str::trim) else {
            return Ok(None);
        };
        let instance = metrics
            .pushgateway_instance
            .clone()
            .unwrap_or_else(|| "sgsync".to_owned());
        crate::observe::push::Gateway::new(url, &instance)
            .map(Some)
            .map_err(|why| self.invalid(&["metrics", "pushgateway"], why))
    }

    fn metrics_listen(
        &self,
        metrics: &RawMetrics,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        if !metrics.enabled {
            return Ok(None);
        }
        let listen = metrics.listen.trim();
        if listen.is_empty() {
            return Err(self.invalid(
                &["metrics", "listen"],
                "is empty; set [metrics] enabled = false to serve no endpoint",
            ));
        }
        listen.parse().map(Some).map_err(|_| {
            self.invalid(
                &["metrics", "listen"],
                format!(
                    "{listen:?} is not an IP address and port such as \"{DEFAULT_METRICS_LISTEN}\" (host names are not resolved)"
                ),
            )
        })
    }

    fn check_http(&self, http: &RawHttp) -> Result<(), ConfigError> {
        let positive = [
            ("connect_timeout_secs", http.connect_timeout_secs),
            ("timeout_secs", http.timeout_secs),
            ("max_delay_ms", http.max_delay_ms),
            ("max_body_bytes", http.max_body_bytes.map(|b| b as u64)),
        ];
        for (key, value) in positive {
            if value == Some(0) {
                return Err(self.invalid(&["http", key], "must be at least 1"));
            }
        }
        let defaults = HttpSettings::default();
        let base = http
            .base_delay_ms
            .map(Duration::from_millis)
            .unwrap_or(defaults.base_delay);
        let max = http
            .max_delay_ms
            .map(Duration::from_millis)
            .unwrap_or(defaults.max_delay);
        if base > max {
            return Err(self.invalid(
                &["http", "base_delay_ms"],
                format!(
                    "{} ms exceeds max_delay_ms ({} ms)",
                    base.as_millis(),
                    max.as_millis()
                ),
            ));
        }
        Ok(())
    }

    fn endpoint(
        &self,
        at: &[&str],
        name: String,
        provider: &str,
        block: Option<Value>,
        budget: Budget,
        http: &RawHttp,
    ) -> Result<Endpoint, ConfigError> {
        let key = |last: &str| -> Vec<String> {
            let mut k: Vec<String> = at.iter().map(|s| (*s).to_owned()).collect();
            k.push(last.to_owned());
            k
        };
        let invalid = |key: Vec<String>, why: String| ConfigError::Invalid {
            whence: self.whence(&key),
            key: key.join("."),
            why,
        };
        let Some(registered) = registry::find(provider) else {
            return Err(invalid(
                key("provider"),
                format!(
                    "unknown provider \"{provider}\"; expected {}",
                    registry::ids()
                ),
            ));
        };
        let kind = registered.kind();
        let id = kind.as_str();
        let Some(block) = block else {
            return Err(invalid(
                key(id),
                format!("is missing: provider = \"{id}\" needs this block"),
            ));
        };
        let connection = registered
            .connection(block)
            .map_err(|e| self.path_error(&key(id), *e))?;
        for (field, url) in connection.urls() {
            let mut k = key(id);
            k.extend(field.split('.').map(str::to_owned));
            validate_base_url(kind, url).map_err(|e| invalid(k, e.to_string()))?;
        }
        let mut settings = registered.http_defaults();
        if let Some(s) = http.connect_timeout_secs {
            settings.connect_timeout = Duration::from_secs(s);
        }
        if let Some(s) = http.timeout_secs {
            settings.timeout = Duration::from_secs(s);
        }
        if let Some(n) = http.max_retries {
            settings.max_retries = n;
        }
        if let Some(ms) = http.base_delay_ms {
            settings.base_delay = Duration::from_millis(ms);
        }
        if let Some(ms) = http.max_delay_ms {
            settings.max_delay = Duration::from_millis(ms);
        }
        if let Some(b) = http.max_body_bytes {
            settings.max_body_bytes = b;
        }
        if let Some(rpm) = budget.per_minute {
            if rpm == 0 {
                return Err(invalid(
                    key("rate_limit_per_minute"),
                    "must be at least 1".to_owned(),
                ));
            }
            settings.requests_per_minute = rpm;
        }
        if let Some(burst) = budget.burst {
            let rpm = settings.requests_per_minute;
            if burst == 0 || burst > rpm {
                return Err(invalid(
                    key("rate_limit_burst"),
                    format!("must be between 1 and the budget per minute ({rpm})"),
                ));
            }
            settings.burst = Some(burst);
        }
        Ok(Endpoint {
            name,
            provider: kind,
            connection,
            http: settings,
        })
    }
}

/// The rate-limit keys of one `[source]` or `[targets.<name>]`.
struct Budget {
    per_minute: Option<u32>,
    burst: Option<u32>,
}

/// The time between two runs of `schedule` (its next two times; 15 minutes when it has
/// no next time).
fn between_runs(schedule: &cron::Schedule) -> Duration {
    let mut next = schedule.upcoming(chrono::Utc);
    match (next.next(), next.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(900)),
        _ => Duration::from_secs(900),
    }
}

/// The membership keys of one `[targets.<name>]`.
struct RawMembership {
    membership: Option<MembershipMode>,
    max_removal_fraction: Option<f64>,
    mass_removal_confirm_runs: Option<u32>,
}

/// The URL that identifies the account a connection talks to, normalised so that
/// `https://x/v1` and `https://x/v1/` compare equal.
fn endpoint_url(endpoint: &Endpoint) -> Option<String> {
    validate_base_url(endpoint.provider, endpoint.connection.account_url())
        .ok()
        .map(|u| u.to_string())
}

impl Endpoint {
    /// A client for this endpoint, decoding groups with `maps`.
    pub fn connect(&self, maps: Arc<Maps>) -> Result<Arc<dyn Provider>, ProviderError> {
        self.connection.connect(self.http.clone(), maps)
    }

    /// This endpoint's dialect, translating with `maps`.
    pub fn dialect(&self, maps: Arc<Maps>) -> Option<Arc<dyn Dialect>> {
        registry::of(self.provider).map(|r| r.dialect(maps))
    }
}
