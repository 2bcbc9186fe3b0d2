//! `[metrics] pushgateway`: a one-shot run (a CronJob, a systemd timer) pushes its
//! run's gauges to a Prometheus Pushgateway, the same set `--textfile-dir` writes, so
//! a run that no scraper can reach is still seen. One `PUT` per run, which replaces
//! what the previous run pushed under the same grouping key (`job="sgsync"`, and the
//! configured `instance`); the pushgateway keeps it until the next run.

use std::time::Duration;

/// How long a push may take before the run gives up on it (the run itself is recorded
/// already; a push that fails makes the exit code 1 unless it was 2 already).
const PUSH_TIMEOUT: Duration = Duration::from_secs(15);

/// A validated Pushgateway address and grouping key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// `…/metrics/job/sgsync/instance/<instance>`.
    url: url::Url,
}

/// The push did not go through.
#[derive(Debug, thiserror::Error)]
#[error("pushing the run's metrics to the Pushgateway at {at}: {why}")]
pub struct PushError {
    /// The URL without credentials or query.
    pub at: String,
    pub why: String,
}

impl Gateway {
    /// `base` (an `http://` or `https://` URL, with or without a trailing `/`) and the
    /// `instance` label.
    pub fn new(base: &str, instance: &str) -> Result<Gateway, String> {
        let mut url = url::Url::parse(base).map_err(|e| {
            format!("{base:?} is not a URL such as \"http://pushgateway.monitoring:9091\": {e}")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{base:?} must be an http:// or https:// URL"));
        }
        if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{} must have no query and no credentials in it",
                url.host_str().unwrap_or("the URL")
            ));
        }
        let instance = instance.trim();
        if instance.is_empty() {
            return Err("pushgateway_instance must not be empty".to_owned());
        }
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| format!("{base:?} cannot hold a path"))?;
            path.pop_if_empty()
                .extend(["metrics", "job", "sgsync", "instance", instance]);
        }
        Ok(Gateway { url })
    }

    /// Where the metrics go.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }
}

/// Replaces this grouping key's metrics on the gateway with `text` (the classic text
/// format: gauges only, which OpenMetrics and Prometheus text spell alike).
pub async fn push(gateway: &Gateway, text: &str) -> Result<(), PushError> {
    let fail = |why: String| PushError {
        at: gateway.url().to_owned(),
        why,
    };
    let client = reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let answer = client
        .put(gateway.url.clone())
        .header(
            reqwest::header::CONTENT_TYPE,
            super::metrics::CLASSIC_CONTENT_TYPE,
        )
        .body(text.to_owned())
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    let status = answer.status();
    if status.is_success() {
        tracing::info!(url = gateway.url(), "run metrics pushed to the Pushgateway");
        Ok(())
    } else {
        let body = answer.text().await.unwrap_or_default();
        let body: String = body.chars().take(200).collect();
        Err(fail(format!("answered HTTP {status}: {}", body.trim())))
    }
}
