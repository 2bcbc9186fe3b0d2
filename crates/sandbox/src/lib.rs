//! Stateful fake servers of the three provider APIs on loopback, for `demo`, `bench`,
//! `sandbox` and the tests; they imitate what each provider documents (quirks
//! included), never what is convenient for us.
//!
//! What every sandbox shares is here: a request log, a fault plan, and an axum layer
//! that applies the plan around the provider's own handlers. Sandboxes listen on
//! 127.0.0.1 only and keep their state in memory.
//!
//! Faults come from a script (the next requests fail in this order: deterministic, for
//! contract tests) or from rates (a seeded random share of requests: for fault storms).

pub mod emfluence;
pub mod gosquared;
pub mod ispring;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sgsync_provider::pacing::Shape;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One fault, applied to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer this status with an empty body; the handler never runs.
    Status(u16),
    /// Answer 429 with `Retry-After: <seconds>`; the handler never runs.
    RateLimited { retry_after_secs: u64 },
    /// Wait this long, then let the request through (a hang past the client timeout).
    Hang(Duration),
    /// Let the handler run, then send only the first half of its body.
    Truncate,
    /// Answer 200 with a body that is not what the API speaks.
    Malformed,
    /// Answer this status and body; the handler never runs.
    Body { status: u16, body: String },
    /// Let this request through untouched (a script's way to skip one request).
    Pass,
    /// Let the handler run and answer as usual, but undo its state change: "success but
    /// the write was lost".
    LoseWrite,
    /// Let the handler run (the write happens), then hang this long: "the write happened
    /// but the response was lost".
    LoseResponse(Duration),
}

/// Which faults to inject.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// Added before every answer.
    pub latency: Duration,
    /// Answer 429 + `Retry-After` past this many requests a minute, counted the way
    /// the provider counts (its [`Controls`]' shape: a bucket for GoSquared, a rolling
    /// minute for the others).
    pub rate_limit_per_minute: Option<u32>,
    /// The next requests get these faults, in order (paths matching `only_paths`).
    pub script: VecDeque<Fault>,
    /// Share of requests (0.0–1.0) that get a fault drawn from `random_faults`.
    pub fault_rate: f64,
    pub random_faults: Vec<Fault>,
    /// Restrict scripted and random faults to requests whose path contains one of
    /// these (empty: all requests).
    pub only_paths: Vec<String>,
    /// Restrict them further to requests whose body contains one of these (empty: no
    /// restriction), e.g. one SOAP method among the calls to the same path.
    pub only_containing: Vec<String>,
    /// Seed for the random draws, so a storm can be replayed.
    pub seed: u64,
}

/// One request as the sandbox saw it, for tests to count calls and look for secrets.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub at: SystemTime,
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

impl LoggedRequest {
    /// Whether `needle` appears anywhere in the request (path, query, headers, body).
    pub fn contains(&self, needle: &str) -> bool {
        self.path.contains(needle)
            || self.query.as_deref().is_some_and(|q| q.contains(needle))
            || self.headers.values().any(|v| {
                v.as_bytes()
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes())
            })
            || self
                .body
                .windows(needle.len().max(1))
                .any(|w| w == needle.as_bytes())
    }
}

/// The controls a test holds on a running sandbox: its fault plan and its request log.
#[derive(Debug, Clone, Default)]
pub struct Controls {
    inner: Arc<Mutex<ControlState>>,
}

/// A provider's rate-limit bucket: `capacity` units, starting full, replenished
/// continuously at `capacity` a minute (GoSquared's documented limit).
#[derive(Debug, Clone)]
pub struct Bucket {
    capacity: f64,
    units: f64,
    at: Option<SystemTime>,
}

impl Bucket {
    pub fn full(capacity: u32) -> Self {
        Bucket {
            capacity: f64::from(capacity.max(1)),
            units: f64::from(capacity.max(1)),
            at: None,
        }
    }

    fn per_sec(&self) -> f64 {
        self.capacity / 60.0
    }

    fn refill(&mut self, now: SystemTime) {
        if let Some(at) = self.at {
            let elapsed = now.duration_since(at).unwrap_or_default().as_secs_f64();
            self.units = (self.units + elapsed * self.per_sec()).min(self.capacity);
        }
        self.at = Some(now);
    }

    /// Takes one unit, or says how long until one is there.
    pub fn take(&mut self, now: SystemTime) -> Result<(), Duration> {
        self.refill(now);
        if self.units < 1.0 {
            return Err(Duration::from_secs_f64((1.0 - self.units) / self.per_sec()));
        }
        self.units -= 1.0;
        Ok(())
    }

    /// Whole units left.
    pub fn remaining(&self) -> u64 {
        self.units.max(0.0) as u64
    }

    /// Seconds until the bucket is full again (`X-RateLimit-Full`).
    pub fn secs_until_full(&self) -> u64 {
        ((self.capacity - self.units).max(0.0) / self.per_sec()).ceil() as u64
    }
}

#[derive(Debug, Default)]
struct ControlState {
    plan: FaultPlan,
    log: Vec<LoggedRequest>,
    rng: Option<fastrand::Rng>,
    /// How the plan's rate limit is counted.
    shape: Shape,
    recent: VecDeque<SystemTime>,
    bucket: Option<Bucket>,
}

impl ControlState {
    /// Counts one request against the plan's limit of `limit` a minute, or says how
    /// long until it would be allowed.
    fn count_against_limit(&mut self, limit: u32, now: SystemTime) -> Result<(), Duration> {
        match self.shape {
            Shape::Bucket => {
                let bucket = self.bucket.get_or_insert_with(|| Bucket::full(limit));
                if bucket.capacity != f64::from(limit.max(1)) {
                    *bucket = Bucket::full(limit);
                }
                bucket.take(now)
            }
            Shape::Window => {
                let minute = Duration::from_secs(60);
                while self
                    .recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t).unwrap_or_default() > minute)
                {
                    self.recent.pop_front();
                }
                if self.recent.len() >= limit as usize {
                    let oldest = self.recent.front().copied().unwrap_or(now);
                    return Err(
                        minute.saturating_sub(now.duration_since(oldest).unwrap_or_default())
                    );
                }
                self.recent.push_back(now);
                Ok(())
            }
        }
    }
}

impl Controls {
    /// Controls whose plan's rate limit is counted as `shape`.
    pub fn with_limit_shape(shape: Shape) -> Self {
        let controls = Controls::default();
        controls.lock().shape = shape;
        controls
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // A handler that panicked must not wedge the whole sandbox.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_plan(&self, plan: FaultPlan) {
        let mut s = self.lock();
        s.rng = Some(fastrand::Rng::with_seed(plan.seed));
        s.plan = plan;
    }

    /// Appends faults for the next matching requests.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().plan.script.extend(faults);
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// How many requests with this method reached a path containing `path_contains`.
    pub fn count(&self, method: &Method, path_contains: &str) -> usize {
        self.lock()
            .log
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_contains))
            .count()
    }

    fn decide(&self, path: &str, body: &[u8]) -> (Duration, Option<Fault>) {
        let mut s = self.lock();
        let now = SystemTime::now();
        let latency = s.plan.latency;
        if let Some(limit) = s.plan.rate_limit_per_minute
            && let Err(wait) = s.count_against_limit(limit, now)
        {
            return (
                latency,
                Some(Fault::RateLimited {
                    retry_after_secs: wait.as_secs().max(1),
                }),
            );
        }
        let applies = (s.plan.only_paths.is_empty()
            || s.plan.only_paths.iter().any(|p| path.contains(p.as_str())))
            && (s.plan.only_containing.is_empty()
                || s.plan
                    .only_containing
                    .iter()
                    .any(|c| body.windows(c.len().max(1)).any(|w| w == c.as_bytes())));
        if !applies {
            return (latency, None);
        }
        if let Some(fault) = s.plan.script.pop_front() {
            return (latency, Some(fault));
        }
        let (rate, choices) = (s.plan.fault_rate, s.plan.random_faults.len());
        if rate > 0.0 && choices > 0 {
            let seed = s.plan.seed;
            let rng = s.rng.get_or_insert_with(|| fastrand::Rng::with_seed(seed));
            if rng.f64() < rate {
                let pick = rng.usize(..choices);
                return (latency, s.plan.random_faults.get(pick).cloned());
            }
        }
        (latency, None)
    }

    fn record(&self, entry: LoggedRequest) {
        self.lock().log.push(entry);
    }
}

/// A sandbox's in-memory state, which [`Fault::LoseWrite`] must be able to roll back.
pub trait Snapshot: Send + Sync + 'static {
    type Saved: Send;
    fn save(&self) -> Self::Saved;
    fn restore(&self, saved: Self::Saved);
}

/// The fault layer around a sandbox router: logs every request, then applies the plan.
pub fn with_faults<S: Snapshot + Clone>(router: Router, controls: Controls, state: S) -> Router {
    router.layer(middleware::from_fn_with_state(
        (controls, state),
        apply_faults::<S>,
    ))
}

async fn apply_faults<S: Snapshot + Clone>(
    State((controls, state)): State<(Controls, S)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    // Sandboxes accept bodies up to 64 MiB; a larger one is refused like a real server.
    let Ok(body) = to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let path = parts.uri.path().to_owned();
    let (latency, fault) = controls.decide(&path, &body);
    controls.record(LoggedRequest {
        at: SystemTime::now(),
        method: parts.method.clone(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: body.clone(),
        fault: fault.clone(),
    });
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let request = Request::from_parts(parts, Body::from(body));
    match fault {
        None | Some(Fault::Pass) => next.run(request).await,
        Some(Fault::Status(code)) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Some(Fault::RateLimited { retry_after_secs }) => {
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
            response
        }
        Some(Fault::Hang(wait)) => {
            tokio::time::sleep(wait).await;
            next.run(request).await
        }
        Some(Fault::Truncate) => {
            let response = next.run(request).await;
            let (mut parts, body) = response.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(half))
        }
        Some(Fault::Malformed) => {
            (StatusCode::OK, "<<< not what this API speaks >>>").into_response()
        }
        Some(Fault::Body { status, body }) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response(),
        Some(Fault::LoseWrite) => {
            let saved = state.save();
            let response = next.run(request).await;
            state.restore(saved);
            response
        }
        Some(Fault::LoseResponse(wait)) => {
            let response = next.run(request).await;
            tokio::time::sleep(wait).await;
            response
        }
    }
}

/// A sandbox server running in the background on 127.0.0.1.
pub struct Running {
    pub addr: SocketAddr,
    pub controls: Controls,
    task: JoinHandle<()>,
}

impl Running {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on 127.0.0.1 (port 0 picks a free one).
pub async fn serve(router: Router, controls: Controls, port: u16) -> std::io::Result<Running> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("sandbox on {addr} stopped: {e}");
        }
    });
    Ok(Running {
        addr,
        controls,
        task,
    })
}

/// What a sandbox starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// No groups (reference data such as departments or profile fields still exists).
    Empty,
    /// Realistic demo data (the nine real GoSquared groups, an iSpring department tree,
    /// profile fields with country ids, emfluence groups and contacts).
    Demo,
}
