//! The one HTTP layer every provider client goes through: timeouts, retries with
//! exponential backoff and full jitter, `Retry-After`, a client-side rate limit, a cap on
//! response bodies, a `tracing` span per call, and no secret in any log or error.
//!
//! What is worth retrying is decided in one place ([`ErrorKind::is_temporary`]); what
//! may be *sent again* depends on the call: an idempotent read is retried on any
//! temporary failure, a create only when the provider certainly did not act on it
//! (connection refused, 429). A create that timed out is reported, not repeated: the
//! engine looks the group up before it creates again.

use super::error::{ErrorKind, ProviderError};
use crate::pacing::{Pacer, Pacing, Shape};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use sgsync_model::ProviderKind;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::{Instrument, debug, field};

/// Knobs of the HTTP layer, one set per provider (config `[http]`, overridable per target).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// Whole-call limit: connect, send, and read the full answer.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff ceiling; doubles per retry up to `max_delay` (full jitter: the wait
    /// is uniform in `[0, ceiling]`).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails and says so.
    pub max_retry_after: Duration,
    pub max_body_bytes: usize,
    /// The cap on an answer read as a stream ([`HttpClient::send_streamed`]): only what
    /// its reader keeps is held, so this guards against an endless answer, not memory.
    pub max_streamed_bytes: usize,
    /// The provider's budget per minute, counted the way `limit_shape` says.
    pub requests_per_minute: u32,
    pub limit_shape: Shape,
    /// Most calls that may go back to back; `None`: all the budget allows.
    pub burst: Option<u32>,
    /// Told about every attempt (metrics); none by default.
    pub observer: Observer,
}

/// What one attempt of a call came back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStatus {
    /// An HTTP answer with this status, whatever the client then made of its body.
    Http(u16),
    /// No (complete) answer: timeout, refused connection, oversized or unreadable body.
    Error(ErrorKind),
}

/// Watches the calls [`HttpClient::send`] makes, attempt by attempt. A trait, so this
/// layer stays free of any metrics library: `observe::metrics` implements it.
pub trait CallObserver: Send + Sync {
    /// One attempt ended after `elapsed` (rate-limit waits excluded).
    fn attempt(
        &self,
        provider: ProviderKind,
        operation: &str,
        status: AttemptStatus,
        elapsed: Duration,
    );
    /// The call is about to be sent again.
    fn retry(&self, provider: ProviderKind, operation: &str);
}

/// An optional [`CallObserver`], carried in [`HttpSettings`] so every client built from
/// the settings reports to it. Compares equal to another only when both are unset or
/// share the same observer (settings are compared in tests).
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn CallObserver>>);

impl Observer {
    pub fn new(observer: Arc<dyn CallObserver>) -> Self {
        Observer(Some(observer))
    }

    fn attempt(&self, provider: ProviderKind, op: &str, status: AttemptStatus, took: Duration) {
        if let Some(o) = &self.0 {
            o.attempt(provider, op, status, took);
        }
    }

    fn retry(&self, provider: ProviderKind, operation: &str) {
        if let Some(o) = &self.0 {
            o.retry(provider, operation);
        }
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

impl PartialEq for Observer {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Default for HttpSettings {
    /// A conservative 100 calls per minute, for a provider that publishes no limit.
    fn default() -> Self {
        HttpSettings::with_rate(100)
    }
}

impl HttpSettings {
    /// The budget as the pacer keeps to it.
    pub fn pacing(&self) -> Pacing {
        Pacing {
            shape: self.limit_shape,
            per_minute: self.requests_per_minute,
            burst: self.burst,
        }
    }

    /// The shared defaults with a budget of `requests_per_minute` counted over a
    /// sliding minute (each provider crate states its own in
    /// `ProviderEntry::http_defaults`).
    pub fn with_rate(requests_per_minute: u32) -> Self {
        HttpSettings {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            max_body_bytes: 16 * 1024 * 1024,
            max_streamed_bytes: 1024 * 1024 * 1024,
            requests_per_minute,
            limit_shape: Shape::Window,
            burst: None,
            observer: Observer::default(),
        }
    }
}

/// A request body with its content type.
#[derive(Debug, Clone)]
pub enum Body {
    Json(Vec<u8>),
    /// SOAP 1.1: `text/xml; charset=utf-8` (ispring.md §1).
    Xml(String),
    Form(String),
}

/// One call, described without secrets where they would be logged: `path` and
/// `operation` go to logs and errors; `query` and `headers` only onto the wire.
pub struct Call<'a> {
    pub method: Method,
    /// Appended to the base URL, e.g. `smartgroups/last-seen-35-days`.
    pub path: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Body>,
    /// Safe to send twice (reads, full-state updates).
    pub idempotent: bool,
}

/// An answer, whatever its status: the client decides what it means.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The error a non-success status means when the body says nothing more specific.
    pub fn status_error(&self, provider: ProviderKind, operation: &str) -> ProviderError {
        let kind = match self.status {
            StatusCode::TOO_MANY_REQUESTS => ErrorKind::RateLimited,
            StatusCode::UNAUTHORIZED => ErrorKind::Auth,
            StatusCode::FORBIDDEN => ErrorKind::PermissionDenied,
            StatusCode::NOT_FOUND => ErrorKind::NotFound,
            StatusCode::CONFLICT => ErrorKind::Conflict,
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorKind::Timeout,
            s if s.is_server_error() => ErrorKind::Server,
            s if s.is_client_error() => ErrorKind::InvalidRequest,
            _ => ErrorKind::Malformed,
        };
        ProviderError::new(provider, kind, operation, format!("HTTP {}", self.status))
            .with_retry_after(retry_after(&self.headers, SystemTime::now()))
    }

    pub fn text(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.body)
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Base URLs must be HTTPS, except on loopback (sandboxes, tests).
pub fn validate_base_url(provider: ProviderKind, raw: &str) -> Result<Url, ProviderError> {
    let bad = |why: String| ProviderError::new(provider, ErrorKind::Config, "base_url", why);
    let mut url = Url::parse(raw).map_err(|e| bad(format!("{raw:?} is not a URL: {e}")))?;
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "must not carry a query string or credentials; configure secrets separately".into(),
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        scheme => {
            return Err(bad(format!(
                "must use https (got {scheme}://); plain http is allowed only on loopback"
            )));
        }
    }
    // Relative paths join under the base only when it ends in `/`.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Client-side pacing ([`Pacer`]), plus a shared pause when the provider says "wait"
/// (429 + `Retry-After`, or GoSquared's `X-RateLimit-Remaining: 0`).
struct Throttle {
    pacer: Pacer,
    paused_until: Mutex<Option<Instant>>,
    per_request: Duration,
}

impl Throttle {
    fn new(pacing: Pacing) -> Self {
        Throttle {
            pacer: Pacer::new(pacing),
            paused_until: Mutex::new(None),
            per_request: Duration::from_secs(60) / pacing.per_minute.max(1),
        }
    }

    async fn ready(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        self.pacer.ready().await;
    }

    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|t| t < until) {
            *paused = Some(until);
        }
    }

    fn observe(&self, headers: &HeaderMap) {
        let remaining = headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        if remaining.is_some_and(|r| r <= 0.0) {
            self.pause(self.per_request);
        }
    }
}

/// An HTTP client bound to one provider's base URL and limits.
pub struct HttpClient {
    client: reqwest::Client,
    base: Url,
    provider: ProviderKind,
    settings: HttpSettings,
    throttle: Throttle,
}

impl HttpClient {
    pub fn new(
        provider: ProviderKind,
        base_url: &str,
        settings: HttpSettings,
    ) -> Result<Self, ProviderError> {
        let base = validate_base_url(provider, base_url)?;
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("sgsync/", env!("CARGO_PKG_VERSION")))
            // Redirects could carry the query-string credentials elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                ProviderError::new(
                    provider,
                    ErrorKind::Config,
                    "http client",
                    e.without_url().to_string(),
                )
            })?;
        Ok(HttpClient {
            client,
            base,
            provider,
            throttle: Throttle::new(settings.pacing()),
            settings,
        })
    }

    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// The base URL every call is relative to (normalised: it ends in `/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Sends `call`, hands every answer to `interpret`, and retries what is worth
    /// retrying. `interpret` turns a reply into a value or a classified error (a SOAP
    /// fault, an error envelope, or [`Reply::status_error`]).
    pub async fn send<T>(
        &self,
        operation: &str,
        call: &Call<'_>,
        interpret: impl Fn(Reply) -> Result<T, ProviderError>,
    ) -> Result<T, ProviderError> {
        let interpret = &interpret;
        self.attempts(operation, call, move |response| async move {
            let reply = self.collect(operation, response).await?;
            Ok(interpret(reply))
        })
        .await
    }

    /// As [`Self::send`], for an answer too large to hold whole (a list of every group
    /// an account has): a success's body goes, as it arrives, to `decode`, which reads
    /// it on a blocking thread as a [`std::io::Read`], so only what `decode` keeps is
    /// held. `interpret` then gets the reply (its body empty) and what `decode` made of
    /// it; an answer with any other status is read whole, as [`Self::send`] reads it, and
    /// `interpret` gets `None`.
    pub async fn send_streamed<T, U>(
        &self,
        operation: &str,
        call: &Call<'_>,
        decode: impl Fn(&mut dyn std::io::Read) -> T + Clone + Send + 'static,
        interpret: impl Fn(Reply, Option<T>) -> Result<U, ProviderError>,
    ) -> Result<U, ProviderError>
    where
        T: Send + 'static,
    {
        let (decode, interpret) = (&decode, &interpret);
        self.attempts(operation, call, move |response| async move {
            if !response.status().is_success() {
                let reply = self.collect(operation, response).await?;
                return Ok(interpret(reply, None));
            }
            let head = Reply {
                status: response.status(),
                headers: response.headers().clone(),
                body: Vec::new(),
            };
            let decoded = self.stream(operation, response, decode.clone()).await?;
            Ok(interpret(head, Some(decoded)))
        })
        .await
    }

    /// The retry loop around one kind of call: `read` makes a value (or the error it
    /// means) of an answer, or fails to read it at all (the attempt then had no
    /// complete answer).
    async fn attempts<T, Reading>(
        &self,
        operation: &str,
        call: &Call<'_>,
        read: impl Fn(reqwest::Response) -> Reading,
    ) -> Result<T, ProviderError>
    where
        Reading: Future<Output = Result<Result<T, ProviderError>, ProviderError>>,
    {
        let span = tracing::info_span!(
            "provider_call",
            provider = %self.provider,
            operation,
            method = %call.method,
            path = call.path,
            status = field::Empty,
            attempt = field::Empty,
            latency_ms = field::Empty,
        );
        async {
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                self.throttle.ready().await;
                // Asked right before each attempt (after any wait), so a run that lost
                // its lease while paused or backing off sends nothing more.
                if let Err(why) = super::fence::permit(self.settings.timeout) {
                    let mut error =
                        ProviderError::new(self.provider, ErrorKind::Stopped, operation, why);
                    error.attempts = attempt;
                    return Err(error);
                }
                let started = Instant::now();
                let outcome = match self.request(operation, call).await {
                    Ok(response) => {
                        let status = response.status();
                        self.throttle.observe(response.headers());
                        read(response).await.map(|value| (status, value))
                    }
                    Err(e) => Err(e),
                };
                let elapsed = started.elapsed();
                // The one place every attempt is observed (metrics count calls by status).
                let status = match &outcome {
                    Ok((status, _)) => AttemptStatus::Http(status.as_u16()),
                    Err(e) => AttemptStatus::Error(e.kind),
                };
                self.settings.observer.attempt(self.provider, operation, status, elapsed);
                let span = tracing::Span::current();
                span.record("attempt", attempt);
                span.record("latency_ms", elapsed.as_millis() as u64);
                let result = outcome.and_then(|(status, value)| {
                    span.record("status", status.as_u16());
                    value
                });
                let mut error = match result {
                    Ok(value) => return Ok(value),
                    Err(e) => e,
                };
                error.attempts = attempt;
                if let Some(wait) = error.retry_after {
                    self.throttle.pause(wait.min(self.settings.max_retry_after));
                }
                let resend_ok = call.idempotent || error.kind.request_not_processed();
                let wait_ok = error.retry_after.is_none_or(|w| w <= self.settings.max_retry_after);
                if !(error.is_temporary() && resend_ok && wait_ok && attempt <= self.settings.max_retries) {
                    debug!(kind = ?error.kind, attempt, "giving up: {error}");
                    return Err(error);
                }
                let wait = error.retry_after.unwrap_or_else(|| self.backoff(attempt));
                debug!(kind = ?error.kind, attempt, wait_ms = wait.as_millis() as u64, "retrying: {error}");
                self.settings.observer.retry(self.provider, operation);
                tokio::time::sleep(wait).await;
            }
        }
        .instrument(span)
        .await
    }

    /// Full jitter (uniform in `[0, min(max_delay, base × 2^(attempt−1))]`): spreads
    /// retrying clients out instead of having them return in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .settings
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.settings.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }

    /// Sends one attempt of `call`: the answer's head, its body still to read.
    async fn request(
        &self,
        operation: &str,
        call: &Call<'_>,
    ) -> Result<reqwest::Response, ProviderError> {
        let fail =
            |kind, message: String| ProviderError::new(self.provider, kind, operation, message);
        let mut url = self
            .base
            .join(call.path)
            .map_err(|e| fail(ErrorKind::Config, format!("bad path {:?}: {e}", call.path)))?;
        if !call.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(call.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut request = self.client.request(call.method.clone(), url);
        for (name, value) in &call.headers {
            request = request.header(name, value.clone());
        }
        request = match &call.body {
            None => request,
            Some(Body::Json(bytes)) => request
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Some(Body::Xml(text)) => request
                .header(CONTENT_TYPE, "text/xml; charset=utf-8")
                .body(text.clone()),
            Some(Body::Form(text)) => request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(text.clone()),
        };
        request
            .send()
            .await
            .map_err(|e| self.transport_error(operation, e))
    }

    /// The whole body of `response`, up to `max_body_bytes`.
    async fn collect(
        &self,
        operation: &str,
        mut response: reqwest::Response,
    ) -> Result<Reply, ProviderError> {
        let cap = self.settings.max_body_bytes;
        let too_large = || self.too_large(operation, cap);
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large());
        }
        // Sized once when the length is announced: growing by doubling would hold up
        // to twice a large answer (a 10,000-group list is ~8 MB) while it is read.
        let announced = response
            .content_length()
            .and_then(|n| usize::try_from(n).ok());
        let mut body = Vec::with_capacity(announced.unwrap_or(0).min(cap));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(operation, e))?
        {
            if body.len() + chunk.len() > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status: response.status(),
            headers: response.headers().clone(),
            body,
        })
    }

    /// `decode`'s reading of `response`'s body, fed to it chunk by chunk as it arrives
    /// (up to `max_streamed_bytes`). A body that fails to arrive whole is that failure,
    /// whatever `decode` made of the part it saw.
    async fn stream<T: Send + 'static>(
        &self,
        operation: &str,
        mut response: reqwest::Response,
        decode: impl FnOnce(&mut dyn std::io::Read) -> T + Send + 'static,
    ) -> Result<T, ProviderError> {
        let cap = self.settings.max_streamed_bytes;
        let (chunks, arriving) = tokio::sync::mpsc::channel(8);
        let decoder = tokio::task::spawn_blocking(move || {
            let chunks = Chunks {
                arriving,
                chunk: bytes::Bytes::new(),
            };
            decode(&mut std::io::BufReader::with_capacity(64 * 1024, chunks))
        });
        let mut read = 0usize;
        let pumped = loop {
            match response.chunk().await {
                Err(e) => break Err(self.transport_error(operation, e)),
                Ok(None) => break Ok(()),
                Ok(Some(chunk)) => {
                    read = read.saturating_add(chunk.len());
                    if read > cap {
                        break Err(self.too_large(operation, cap));
                    }
                    // The decoder stopped reading (it has its answer, or its error).
                    if chunks.send(chunk).await.is_err() {
                        break Ok(());
                    }
                }
            }
        };
        // The decoder reads the end of the body (or of what arrived) and finishes.
        drop(chunks);
        let decoded = decoder.await;
        pumped?;
        decoded.map_err(|e| {
            ProviderError::new(
                self.provider,
                ErrorKind::Malformed,
                operation,
                format!("reading the answer stopped: {e}"),
            )
        })
    }

    /// An answer over `cap` bytes, whether held whole or streamed.
    fn too_large(&self, operation: &str, cap: usize) -> ProviderError {
        ProviderError::new(
            self.provider,
            ErrorKind::BodyTooLarge,
            operation,
            format!("answer larger than the {cap}-byte cap"),
        )
    }

    /// A reqwest failure without its URL (which may hold query-string credentials).
    fn transport_error(&self, operation: &str, e: reqwest::Error) -> ProviderError {
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else if e.is_connect() {
            ErrorKind::Connect
        } else if e.is_body() || e.is_decode() {
            ErrorKind::Malformed
        } else {
            ErrorKind::Server
        };
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ProviderError::new(self.provider, kind, operation, message)
    }
}

/// A body as it arrives, as a blocking reader (for [`HttpClient::send_streamed`]'s
/// decoder, on a thread of its own).
struct Chunks {
    arriving: tokio::sync::mpsc::Receiver<bytes::Bytes>,
    chunk: bytes::Bytes,
}

impl std::io::Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.arriving.blocking_recv() {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: ProviderKind = ProviderKind::new("test", "Test");

    #[test]
    fn base_urls_are_https_except_on_loopback() {
        let p = TEST;
        assert!(validate_base_url(p, "https://api.gosquared.com/people/v1").is_ok());
        assert!(validate_base_url(p, "http://127.0.0.1:8080/people/v1/").is_ok());
        assert!(validate_base_url(p, "http://[::1]:8080/").is_ok());
        assert!(validate_base_url(p, "http://localhost:1/").is_ok());
        let err = validate_base_url(p, "http://api.gosquared.com/").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(err.message.contains("https"), "{err}");
        assert!(validate_base_url(p, "https://x.test/?api_key=secret").is_err());
        assert_eq!(
            validate_base_url(p, "https://x.test/people/v1")
                .unwrap()
                .as_str(),
            "https://x.test/people/v1/"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(
            retry_after(&h, SystemTime::now()),
            Some(Duration::from_secs(7))
        );
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
    }

    #[test]
    fn full_jitter_stays_under_the_doubling_ceiling() {
        let settings = HttpSettings {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            ..HttpSettings::default()
        };
        let client = HttpClient::new(TEST, "http://127.0.0.1:1/", settings).unwrap();
        for attempt in 1..=6 {
            let ceiling = Duration::from_millis((100u64 << (attempt - 1)).min(350));
            for _ in 0..200 {
                assert!(client.backoff(attempt) <= ceiling);
            }
        }
    }
}
