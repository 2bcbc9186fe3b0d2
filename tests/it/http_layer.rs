//! The shared HTTP layer against a toy sandbox with the shared fault layer: retries,
//! `Retry-After`, timeouts, the body cap, and redaction. Attempts and waits are read
//! from the sandbox's request log, never from the wall clock of the test.

use crate::common;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use reqwest::Method;
use sgsync::provider::http::{Body, Call, HttpClient, HttpSettings, Reply};
use sgsync::provider::{ErrorKind, ProviderError};
use sgsync::sandbox::{Controls, Fault, Running, Snapshot, serve, with_faults};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "sk-live-DISTINCTIVE-9f3a";

#[derive(Clone, Default)]
struct Counter(Arc<Mutex<u64>>);

impl Snapshot for Counter {
    type Saved = u64;
    fn save(&self) -> u64 {
        *self.0.lock().unwrap()
    }
    fn restore(&self, saved: u64) {
        *self.0.lock().unwrap() = saved;
    }
}

async fn toy() -> (Running, Counter) {
    let counter = Counter::default();
    let controls = Controls::default();
    let router = Router::new()
        .route(
            "/v1/read",
            get(|| async { r#"{"ok":true,"padding":"0123456789012345678901234567890123456789"}"# }),
        )
        .route("/v1/big", get(|| async { "x".repeat(1000) }))
        .route(
            "/v1/write",
            post(|State(c): State<Counter>| async move {
                let mut n = c.0.lock().unwrap();
                *n += 1;
                format!(r#"{{"ok":true,"n":{n}}}"#)
            }),
        )
        .with_state(counter.clone());
    let router = with_faults(router, controls.clone(), counter.clone());
    (
        serve(router, controls, 0).await.expect("sandbox binds"),
        counter,
    )
}

fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(800),
        max_retries: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        max_body_bytes: 4096,
        requests_per_minute: 6000,
        ..HttpSettings::default()
    }
}

fn client(url: &str) -> HttpClient {
    HttpClient::new(sgsync_gosquared::KIND, &format!("{url}/v1/"), settings())
        .expect("client builds")
}

/// A reply that is JSON with `"ok": true`, or the error it means.
fn json_ok(reply: Reply) -> Result<serde_json::Value, ProviderError> {
    if !reply.status.is_success() {
        return Err(reply.status_error(sgsync_gosquared::KIND, "test"));
    }
    serde_json::from_slice::<serde_json::Value>(&reply.body)
        .ok()
        .filter(|v| v["ok"] == true)
        .ok_or_else(|| {
            ProviderError::new(
                sgsync_gosquared::KIND,
                ErrorKind::Malformed,
                "test",
                "not the JSON we expect",
            )
        })
}

fn read() -> Call<'static> {
    Call {
        method: Method::GET,
        path: "read",
        query: vec![("api_key", SECRET.to_owned())],
        headers: vec![],
        body: None,
        idempotent: true,
    }
}

fn write(idempotent: bool) -> Call<'static> {
    Call {
        method: Method::POST,
        path: "write",
        query: vec![("api_key", SECRET.to_owned())],
        headers: vec![],
        body: Some(Body::Json(br#"{"name":"g"}"#.to_vec())),
        idempotent,
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let (sandbox, _) = toy().await;
    sandbox
        .controls
        .script([Fault::Status(503), Fault::Status(502)]);
    let value = client(&sandbox.url())
        .send("read", &read(), json_ok)
        .await
        .expect("third attempt succeeds");
    assert_eq!(value["ok"], true);
    let log = sandbox.controls.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log.iter().filter(|r| r.fault.is_some()).count(), 2);
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let (sandbox, _) = toy().await;
    sandbox.controls.script([Fault::RateLimited {
        retry_after_secs: 1,
    }]);
    client(&sandbox.url())
        .send("read", &read(), json_ok)
        .await
        .expect("second attempt succeeds");
    let log = sandbox.controls.requests();
    assert_eq!(log.len(), 2);
    let waited = log[1]
        .at
        .duration_since(log[0].at)
        .expect("log is in order");
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, before Retry-After: 1"
    );
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_fails_the_call_and_says_so() {
    let (sandbox, _) = toy().await;
    sandbox.controls.script([Fault::RateLimited {
        retry_after_secs: 3600,
    }]);
    let err = client(&sandbox.url())
        .send("read", &read(), json_ok)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimited);
    assert_eq!(err.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(sandbox.controls.requests().len(), 1);
}

#[tokio::test]
async fn a_create_is_not_resent_after_a_server_error_or_timeout() {
    let (sandbox, counter) = toy().await;
    sandbox.controls.script([Fault::Status(500)]);
    let err = client(&sandbox.url())
        .send("create", &write(false), json_ok)
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Server, 1));
    assert_eq!(sandbox.controls.requests().len(), 1);

    // The write happened but its answer never came: reported as a timeout, not resent.
    sandbox
        .controls
        .script([Fault::LoseResponse(Duration::from_secs(2))]);
    let err = client(&sandbox.url())
        .send("create", &write(false), json_ok)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert_eq!(sandbox.controls.requests().len(), 2);
    assert_eq!(*counter.0.lock().unwrap(), 1, "the write landed once");
}

#[tokio::test]
async fn a_create_is_resent_when_the_provider_certainly_did_not_act() {
    let (sandbox, counter) = toy().await;
    sandbox.controls.script([Fault::RateLimited {
        retry_after_secs: 1,
    }]);
    client(&sandbox.url())
        .send("create", &write(false), json_ok)
        .await
        .expect("resent after 429");
    assert_eq!(sandbox.controls.requests().len(), 2);
    assert_eq!(*counter.0.lock().unwrap(), 1);
}

#[tokio::test]
async fn hangs_time_out_and_truncated_bodies_are_retried_for_reads() {
    let (sandbox, _) = toy().await;
    sandbox.controls.script([
        Fault::Hang(Duration::from_secs(3)),
        Fault::Truncate,
        Fault::Malformed,
    ]);
    client(&sandbox.url())
        .send("read", &read(), json_ok)
        .await
        .expect("fourth attempt succeeds");
    assert_eq!(sandbox.controls.requests().len(), 4);
}

#[tokio::test]
async fn retries_stop_at_the_budget() {
    let (sandbox, _) = toy().await;
    sandbox
        .controls
        .script(std::iter::repeat_n(Fault::Status(503), 10));
    let err = client(&sandbox.url())
        .send("read", &read(), json_ok)
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.attempts),
        (ErrorKind::Server, 4),
        "1 attempt + max_retries 3"
    );
    assert_eq!(sandbox.controls.requests().len(), 4);
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let (sandbox, _) = toy().await;
    let mut call = read();
    call.path = "big";
    let mut settings = settings();
    settings.max_body_bytes = 100;
    let client = HttpClient::new(
        sgsync_gosquared::KIND,
        &format!("{}/v1/", sandbox.url()),
        settings,
    )
    .unwrap();
    let err = client.send("big", &call, |r| Ok(r.body)).await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::BodyTooLarge, 1));
}

#[tokio::test]
async fn secrets_in_the_query_reach_no_log_line_error_or_debug_output() {
    let (sandbox, _) = toy().await;
    let logs = common::capture_logs();

    sandbox
        .controls
        .script(std::iter::repeat_n(Fault::Status(500), 10));
    let served = client(&sandbox.url())
        .send("read", &read(), json_ok)
        .await
        .unwrap_err();
    // Nothing listens on port 1: a connection error, whose reqwest text would hold the URL.
    let refused = client("http://127.0.0.1:1")
        .send("read", &read(), json_ok)
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Connect);

    let logged = logs.text();
    assert!(
        logged.contains("provider_call"),
        "the call was traced: {logged}"
    );
    for text in [
        format!("{served}"),
        format!("{served:?}"),
        format!("{refused}"),
        format!("{refused:?}"),
        logged,
    ] {
        assert!(!text.contains(SECRET), "secret leaked into: {text}");
    }
    // The secret did go where the API wants it: the query string.
    assert!(
        sandbox
            .controls
            .requests()
            .iter()
            .all(|r| r.query.as_deref().is_some_and(|q| q.contains(SECRET)))
    );
}
