//! Settings of the service as a typed, validated value; loading them is the binary's job.

use std::{net::SocketAddr, path::PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Every setting, after defaults, the optional file and the environment were merged.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub database_url: String,
    pub database_max_connections: u32,
    /// How long a request waits for a database connection before it is answered
    /// `503 service_unavailable` (the database is down or every connection is busy).
    pub database_acquire_timeout_seconds: u64,
    pub listen: SocketAddr,
    /// Where customers reach this service (the start of survey links), e.g.
    /// `https://help.example.com`. Empty: `http://` and the `listen` address.
    pub public_url: String,
    pub data_dir: PathBuf,
    pub platform_token: SecretString,
    pub log_level: String,
    pub log_format: LogFormat,
    /// An OpenTelemetry collector's OTLP/HTTP endpoint (`http://collector:4318`): every
    /// span (requests, jobs) is exported there as a trace. Empty means no export.
    pub otlp_endpoint: String,
    pub session_ttl_hours: u32,
    /// Marks the console's session cookies `Secure` on every response; otherwise only on
    /// requests that came over HTTPS (directly or per `X-Forwarded-Proto`).
    pub session_cookie_secure: bool,
    pub max_body_bytes: u64,
    pub login_max_failures: u32,
    pub login_window_seconds: u32,
    /// Failed logins from one client address, across accounts, within the window.
    pub login_max_failures_per_address: u32,
    /// The header a trusted reverse proxy puts the client's address in; empty: the peer.
    pub client_address_header: String,
    /// Event streams one user or API key may hold open at once (per process).
    pub event_streams_per_caller: usize,
    /// Event streams one tenant may hold open at once (per process).
    pub event_streams_per_tenant: usize,
    pub idempotency_ttl_hours: u32,
    /// Empty: the per-user cache (resolved by the binary).
    pub models_dir: PathBuf,
    pub triage_threads: usize,
    pub intent_threshold: f32,
    pub escalation_negative_messages: usize,
    pub escalation_max_score: f64,
    pub escalation_ceiling: String,
    /// Where the knowledge base's vector tables live: a folder or `s3://bucket/prefix`.
    /// Empty: `knowledge` under `data_dir`.
    pub knowledge_uri: String,
    /// Largest knowledge document accepted, in bytes.
    pub knowledge_max_upload_bytes: u64,
    /// Seals secrets stored in the database (tenants' LLM keys). Empty: a random key kept
    /// in `secret.key` under `data_dir` (resolved by the binary).
    pub secret_key: SecretString,
    /// The default LLM (any OpenAI-compatible endpoint); empty means none: drafts are
    /// extractive unless a tenant configures its own.
    pub llm_base_url: String,
    pub llm_api_key: SecretString,
    pub llm_model: String,
    pub llm_temperature: f32,
    pub llm_max_tokens: u32,
    pub llm_timeout_seconds: u32,
    /// Failed calls in a row that open a model profile's circuit breaker.
    pub llm_breaker_failures: u32,
    /// The first cool-down of an open breaker; each failed probe doubles it, up to 10 minutes.
    pub llm_breaker_cool_down_ms: u64,
    /// Drafts written at the same time by one process.
    pub draft_concurrency: usize,
    /// Drafts of one tenant written at the same time, across processes.
    pub draft_tenant_concurrency: usize,
    /// Below this relevance (the estimated probability, 0 to 1, that the best passage
    /// answers the customer's message) the passage is not taken as an answer: drafts ask
    /// for details or hand over instead.
    pub draft_min_relevance: f32,
    /// Waiting time before the first retry of a failed draft; each retry waits twice as long.
    pub draft_retry_base_ms: u64,
    /// How long a draft being written stays with its worker without a renewal (renewed
    /// every third of it); a job whose worker died is taken over after this.
    pub draft_lease_seconds: u64,
    /// How long a triage, ingestion or training job stays with its worker without a
    /// renewal; a job whose worker died is taken over after this.
    pub job_lease_seconds: u64,
    /// The default SMTP server replies go out through (`smtp://host:port`,
    /// `smtps://user:pass@host:465`, `…?tls=required`); empty means none: e-mail replies
    /// stay queued until a tenant sets its own server or this is set.
    pub smtp_url: SecretString,
    /// Each SMTP command waits at most this long.
    pub smtp_timeout_seconds: u64,
    /// Largest raw mail accepted by the inbound endpoints, in bytes.
    pub email_max_bytes: u64,
    /// Attachments larger than this keep their metadata only (the raw mail holds them).
    pub email_attachment_max_bytes: u64,
    /// Waiting time before the first retry of a failed delivery; each retry waits twice as
    /// long, at most an hour.
    pub delivery_retry_base_ms: u64,
    /// Attempts of a delivery before it is failed.
    pub delivery_max_attempts: u32,
    /// How long a delivery being sent stays with its sender; after that, a delivery still
    /// `sending` is failed as of unknown outcome (never sent twice).
    pub delivery_lease_seconds: u64,
    /// Replies one process sends at the same time.
    pub delivery_concurrency: usize,
    /// Documents one process ingests at the same time.
    pub knowledge_concurrency: usize,
    /// How many of a search's best candidates are scored again by their closest sentence
    /// (0 turns it off; see `copilot_knowledge::detail`).
    pub knowledge_sentence_candidates: usize,
    /// Replies of one tenant sent at the same time, across processes.
    pub delivery_tenant_concurrency: usize,
    /// Waits before each webhook attempt, comma-separated (`0s,5s,5m,30m,2h,5h,10h,10h`);
    /// read with [`Settings::webhook_retry_schedule`].
    pub webhook_retry_schedule: String,
    /// Allows webhook endpoints on loopback, private and link-local addresses, and plain http.
    pub webhook_allow_private: bool,
    /// Allows the LLM endpoints and SMTP servers tenants set to be on loopback, private
    /// and link-local addresses (and LLM endpoints on plain http). The service's own
    /// (`llm_base_url`, `smtp_url`) are the operator's and always allowed.
    pub tenant_endpoints_allow_private: bool,
    /// An attempt succeeds on a 2xx within this many seconds.
    pub webhook_timeout_seconds: u64,
    /// An endpoint whose every attempt failed for this long is disabled.
    pub webhook_disable_after_hours: u64,
    /// Webhook attempts one process makes at the same time.
    pub webhook_concurrency: usize,
    /// The built web console served at `/` (a folder with `index.html`).
    pub console_dir: PathBuf,
}

impl Settings {
    /// How long a triage, ingestion or training job stays with a worker that stopped
    /// renewing it.
    pub fn job_lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.job_lease_seconds as i64)
    }

    /// The start of links handed to customers: `public_url`, else this process's address.
    pub fn public_url(&self) -> String {
        match self.public_url.trim().trim_end_matches('/') {
            "" => format!("http://{}", self.listen),
            url => url.to_owned(),
        }
    }

    /// The waits before each webhook attempt (checked by [`Settings::validate`]).
    pub fn webhook_retry_schedule(&self) -> Vec<std::time::Duration> {
        parse_durations(&self.webhook_retry_schedule).unwrap_or_default()
    }
}

/// A comma-separated list of durations such as `0s,500ms,5s,5m,2h,1d`.
pub fn parse_durations(text: &str) -> Result<Vec<std::time::Duration>, String> {
    let parsed: Result<Vec<_>, String> = text
        .split(',')
        .map(str::trim)
        .map(|item| {
            let split = item.find(|c: char| !c.is_ascii_digit()).unwrap_or(item.len());
            let (number, unit) = item.split_at(split);
            let number: u64 = number.parse().map_err(|_| format!("`{item}` is not a duration such as 5s, 5m or 2h"))?;
            let seconds = match unit {
                "ms" => return Ok(std::time::Duration::from_millis(number)),
                "s" => number,
                "m" => number * 60,
                "h" => number * 3600,
                "d" => number * 86_400,
                _ => return Err(format!("`{item}` has no unit: use ms, s, m, h or d")),
            };
            Ok(std::time::Duration::from_secs(seconds))
        })
        .collect();
    let parsed = parsed?;
    if parsed.is_empty() || parsed.len() > 50 {
        return Err("list between 1 and 50 durations".into());
    }
    Ok(parsed)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

/// A setting that holds but makes no sense; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting `{key}` (environment variable COPILOT_{env}): {reason}")]
pub struct InvalidSetting {
    pub key: &'static str,
    pub env: String,
    pub reason: String,
}

impl InvalidSetting {
    fn new(key: &'static str, reason: impl Into<String>) -> Self {
        Self { key, env: key.to_uppercase(), reason: reason.into() }
    }
}

impl Settings {
    /// Checks values that parse but are out of range, and fills derived defaults.
    pub fn validate(mut self) -> Result<Self, InvalidSetting> {
        if self.database_url.trim().is_empty() {
            self.database_url = format!("sqlite://{}?mode=rwc", self.data_dir.join("copilot.db").display());
        }
        let url = self.database_url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:")) {
            return Err(InvalidSetting::new("database_url", "expected a postgres://… or sqlite:… URL"));
        }
        if !(1..=60).contains(&self.database_acquire_timeout_seconds) {
            return Err(InvalidSetting::new("database_acquire_timeout_seconds", "must be 1 to 60"));
        }
        if self.database_max_connections == 0 {
            return Err(InvalidSetting::new("database_max_connections", "must be at least 1"));
        }
        let token = self.platform_token.expose_secret();
        if !token.is_empty() && token.len() < 16 {
            return Err(InvalidSetting::new("platform_token", "must be empty or at least 16 characters"));
        }
        if !(1..=8760).contains(&self.session_ttl_hours) {
            return Err(InvalidSetting::new("session_ttl_hours", "must be between 1 and 8760 (a year)"));
        }
        if !(1..=8760).contains(&self.idempotency_ttl_hours) {
            return Err(InvalidSetting::new("idempotency_ttl_hours", "must be between 1 and 8760 (a year)"));
        }
        if self.knowledge_uri.trim().is_empty() {
            self.knowledge_uri = self.data_dir.join("knowledge").display().to_string();
        }
        if self.knowledge_max_upload_bytes < 1024 {
            return Err(InvalidSetting::new("knowledge_max_upload_bytes", "must be at least 1024"));
        }
        let llm_url = self.llm_base_url.trim();
        if !(llm_url.is_empty() || llm_url.starts_with("http://") || llm_url.starts_with("https://")) {
            return Err(InvalidSetting::new("llm_base_url", "expected an http:// or https:// URL, or empty"));
        }
        if !llm_url.is_empty() && self.llm_model.trim().is_empty() {
            return Err(InvalidSetting::new("llm_model", "must name a model when llm_base_url is set"));
        }
        if !(0.0..=2.0).contains(&self.llm_temperature) {
            return Err(InvalidSetting::new("llm_temperature", "must be between 0 and 2"));
        }
        if !(1..=32_000).contains(&self.llm_max_tokens) {
            return Err(InvalidSetting::new("llm_max_tokens", "must be between 1 and 32000"));
        }
        if !(1..=600).contains(&self.llm_timeout_seconds) {
            return Err(InvalidSetting::new("llm_timeout_seconds", "must be between 1 and 600"));
        }
        if !(1..=100).contains(&self.llm_breaker_failures) {
            return Err(InvalidSetting::new("llm_breaker_failures", "must be between 1 and 100"));
        }
        if !(100..=600_000).contains(&self.llm_breaker_cool_down_ms) {
            return Err(InvalidSetting::new("llm_breaker_cool_down_ms", "must be between 100 and 600000"));
        }
        if !(1..=256).contains(&self.draft_concurrency) {
            return Err(InvalidSetting::new("draft_concurrency", "must be between 1 and 256"));
        }
        if !(1..=64).contains(&self.draft_tenant_concurrency) {
            return Err(InvalidSetting::new("draft_tenant_concurrency", "must be between 1 and 64"));
        }
        if !(3..=3600).contains(&self.draft_lease_seconds) {
            return Err(InvalidSetting::new("draft_lease_seconds", "must be between 3 and 3600"));
        }
        if !(3..=3600).contains(&self.job_lease_seconds) {
            return Err(InvalidSetting::new("job_lease_seconds", "must be between 3 and 3600"));
        }
        let smtp = self.smtp_url.expose_secret().trim();
        if !(smtp.is_empty() || smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
            return Err(InvalidSetting::new("smtp_url", "expected an smtp:// or smtps:// URL, or empty"));
        }
        if !(1..=600).contains(&self.smtp_timeout_seconds) {
            return Err(InvalidSetting::new("smtp_timeout_seconds", "must be between 1 and 600"));
        }
        if self.email_max_bytes < 1024 || self.email_attachment_max_bytes > self.email_max_bytes {
            return Err(InvalidSetting::new(
                "email_max_bytes",
                "must be at least 1024 and at least email_attachment_max_bytes",
            ));
        }
        if !(1..=100).contains(&self.delivery_max_attempts) {
            return Err(InvalidSetting::new("delivery_max_attempts", "must be between 1 and 100"));
        }
        if !(1..=64).contains(&self.knowledge_concurrency) {
            return Err(InvalidSetting::new("knowledge_concurrency", "must be between 1 and 64"));
        }
        if !(1..=256).contains(&self.delivery_concurrency) {
            return Err(InvalidSetting::new("delivery_concurrency", "must be between 1 and 256"));
        }
        if !(1..=64).contains(&self.delivery_tenant_concurrency) {
            return Err(InvalidSetting::new("delivery_tenant_concurrency", "must be between 1 and 64"));
        }
        if !(3..=3600).contains(&self.delivery_lease_seconds) {
            return Err(InvalidSetting::new("delivery_lease_seconds", "must be between 3 and 3600"));
        }
        parse_durations(&self.webhook_retry_schedule)
            .map_err(|reason| InvalidSetting::new("webhook_retry_schedule", reason))?;
        if !(1..=120).contains(&self.webhook_timeout_seconds) {
            return Err(InvalidSetting::new("webhook_timeout_seconds", "must be between 1 and 120"));
        }
        if self.webhook_disable_after_hours == 0 {
            return Err(InvalidSetting::new("webhook_disable_after_hours", "must be at least 1"));
        }
        if !(1..=1024).contains(&self.webhook_concurrency) {
            return Err(InvalidSetting::new("webhook_concurrency", "must be between 1 and 1024"));
        }
        if self.knowledge_sentence_candidates > 50 {
            return Err(InvalidSetting::new("knowledge_sentence_candidates", "must be between 0 and 50"));
        }
        if !(0.0..=1.0).contains(&self.draft_min_relevance) {
            return Err(InvalidSetting::new("draft_min_relevance", "must be between 0 and 1"));
        }
        let public = self.public_url.trim();
        if !public.is_empty()
            && (!(public.starts_with("https://") || public.starts_with("http://"))
                || public.contains(char::is_whitespace)
                || public.contains(['?', '#']))
        {
            return Err(InvalidSetting::new("public_url", "must be an http(s) address without query or fragment"));
        }
        let secret = self.secret_key.expose_secret();
        if !secret.is_empty() && secret.len() < 32 {
            return Err(InvalidSetting::new("secret_key", "must be empty or at least 32 characters"));
        }
        if self.max_body_bytes < 1024 {
            return Err(InvalidSetting::new("max_body_bytes", "must be at least 1024"));
        }
        if self.event_streams_per_caller == 0 || self.event_streams_per_tenant < self.event_streams_per_caller {
            return Err(InvalidSetting::new(
                "event_streams_per_caller",
                "must be at least 1, and event_streams_per_tenant at least as many",
            ));
        }
        if self.login_max_failures_per_address == 0 {
            return Err(InvalidSetting::new("login_max_failures_per_address", "must be at least 1"));
        }
        if self.login_max_failures == 0 {
            return Err(InvalidSetting::new("login_max_failures", "must be at least 1"));
        }
        if !(1..=86_400).contains(&self.login_window_seconds) {
            return Err(InvalidSetting::new("login_window_seconds", "must be between 1 and 86400 (a day)"));
        }
        if !(1..=64).contains(&self.triage_threads) {
            return Err(InvalidSetting::new("triage_threads", "must be between 1 and 64"));
        }
        if !(0.0..=1.0).contains(&self.intent_threshold) {
            return Err(InvalidSetting::new("intent_threshold", "must be between 0 and 1"));
        }
        if !(-1.0..=1.0).contains(&self.escalation_max_score) {
            return Err(InvalidSetting::new("escalation_max_score", "must be between -1 and 1"));
        }
        if self.escalation_ceiling.parse::<crate::model::Priority>().is_err() {
            return Err(InvalidSetting::new("escalation_ceiling", "must be low, normal, high or urgent"));
        }
        Ok(self)
    }

    /// When a model profile's circuit breaker opens, and for how long.
    pub fn breaker_policy(&self) -> crate::breaker::BreakerPolicy {
        let cool_down = std::time::Duration::from_millis(self.llm_breaker_cool_down_ms);
        crate::breaker::BreakerPolicy {
            failures_to_open: self.llm_breaker_failures,
            cool_down,
            max_cool_down: cool_down.max(std::time::Duration::from_secs(600)),
        }
    }

    /// The service-wide LLM, when configured.
    pub fn default_llm(&self) -> Option<(&str, Option<&str>, &str)> {
        let url = self.llm_base_url.trim();
        let key = Some(self.llm_api_key.expose_secret()).filter(|key| !key.is_empty());
        (!url.is_empty()).then_some((url, key, self.llm_model.trim()))
    }

    /// The platform token, when the operator configured one.
    pub fn platform_token(&self) -> Option<&str> {
        Some(self.platform_token.expose_secret()).filter(|token| !token.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_durations;

    #[test]
    fn duration_lists_parse_with_units() {
        let parsed = parse_durations("0s, 5s,5m,30m,2h,500ms,1d").expect("valid");
        assert_eq!(
            parsed,
            vec![
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(1800),
                Duration::from_secs(7200),
                Duration::from_millis(500),
                Duration::from_secs(86_400),
            ]
        );
        for bad in ["", "5", "5x", "s", "1s,,2s"] {
            assert!(parse_durations(bad).is_err(), "{bad}");
        }
    }
}
