//! The chat call: one streamed request to an OpenAI-compatible `/chat/completions`
//! endpoint, text handed to a callback as it arrives, usage read from the final chunk (or
//! estimated when the server sends none), and failures sorted into retryable or not.

use std::{future::Future, pin::Pin, time::Duration};

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::{HttpRequestFactory, ReqwestService},
    types::chat::{
        ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
        ChatCompletionStreamOptions, CreateChatCompletionRequest, ResponseFormat, ResponseFormatJsonSchema,
    },
};
use futures::StreamExt;

use copilot_core::net::{UrlError, check_addresses, check_url};

use crate::prompt::{PromptMessage, Role};

/// Where and how to call the model.
#[derive(Clone, PartialEq)]
pub struct LlmConfig {
    /// The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// For the whole call, streaming included.
    pub timeout: Duration,
    /// Whether the endpoint may be on loopback or a private network: the operator's own
    /// endpoint, or any when the operator allows it. Otherwise every address the host
    /// resolves to must be public, checked at connect time, and redirects are not followed.
    pub allow_private: bool,
    /// The answer must follow this JSON schema (`response_format: json_schema`, strict):
    /// set only for endpoints that take one.
    pub response_schema: Option<ResponseSchema>,
}

/// A named JSON schema an answer must follow.
#[derive(Clone, Debug, PartialEq)]
pub struct ResponseSchema {
    /// Letters, digits, `_` or `-`; at most 64.
    pub name: String,
    pub schema: serde_json::Value,
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "…"))
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("timeout", &self.timeout)
            .field("allow_private", &self.allow_private)
            .field("response_schema", &self.response_schema.as_ref().map(|schema| &schema.name))
            .finish()
    }
}

/// Tokens one call used.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// What the model wrote.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub text: String,
    pub usage: Usage,
    /// The model that answered, as the server names it.
    pub model: String,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the LLM did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("the LLM endpoint answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the LLM endpoint could not be reached: {0}")]
    Transport(String),
    #[error("the LLM's answer could not be read: {0}")]
    Malformed(String),
    #[error("the LLM request is invalid: {0}")]
    Invalid(String),
}

impl LlmError {
    /// Timeouts, rate limits, server errors, broken connections and unreadable answers
    /// may pass on a later attempt; a refused key or an unknown model will not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Transport(_) | Self::Malformed(_) => true,
            Self::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            Self::Invalid(_) => false,
        }
    }
}

impl From<OpenAIError> for LlmError {
    fn from(error: OpenAIError) -> Self {
        match error {
            OpenAIError::ApiError(response) => {
                Self::Status { status: response.status_code.as_u16(), message: reason(&response.api_error.message) }
            }
            OpenAIError::Reqwest(error) if error.is_timeout() => Self::Timeout(Duration::ZERO),
            // An address the policy refuses will not pass on a later attempt.
            OpenAIError::Reqwest(error) if refused_address(&error) => Self::Invalid(reason(&with_causes(&error))),
            OpenAIError::Reqwest(error) => Self::Transport(reason(&with_causes(&error))),
            // The answer itself is never shown: it may come from a service that was not
            // meant to be reached.
            OpenAIError::JSONDeserialize(error, _) => {
                Self::Malformed(reason(&format!("not an OpenAI-compatible answer ({error})")))
            }
            OpenAIError::StreamError(error) => Self::Malformed(reason(&error.to_string())),
            OpenAIError::InvalidArgument(message) => Self::Invalid(reason(&message)),
            other => Self::Transport(reason(&other.to_string())),
        }
    }
}

/// What a provider's or transport's message may show on a draft: one line, at most
/// [`REASON_CHARS`] characters.
fn reason(text: &str) -> String {
    shorten(&copilot_core::values::one_line(text), REASON_CHARS)
}

const REASON_CHARS: usize = 240;

/// Whether the endpoint's address was refused by the address policy.
fn refused_address(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<UrlError>().is_some() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// An error's message followed by its causes (a refused address is a cause of a request error).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

fn shorten(text: &str, max: usize) -> String {
    let mut short: String = text.chars().take(max).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Calls LLMs over two HTTP connection pools: one for endpoints that may be private, one
/// whose resolver refuses non-public addresses. Requests go straight to them: the caller's
/// durable retries are the only retry policy (async-openai's built-in retry layer is left
/// out), so every attempt is visible on the draft. Neither follows redirects.
#[derive(Clone, Debug)]
pub struct LlmClient {
    open: reqwest::Client,
    public_only: reqwest::Client,
}

impl Default for LlmClient {
    fn default() -> Self {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
        };
        Self {
            open: builder().build().unwrap_or_default(),
            public_only: builder()
                .dns_resolver(std::sync::Arc::new(PublicResolver))
                .build()
                .unwrap_or_else(|_| reqwest::Client::new()),
        }
    }
}

/// Resolves names with the system resolver and refuses non-public answers, so a name
/// cannot be pointed at an internal address after the URL was checked.
struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(Box::new(UrlError::Unresolvable(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            let ips: Vec<_> = addresses.iter().map(std::net::SocketAddr::ip).collect();
            check_addresses(&ips, false).map_err(Box::new)?;
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl LlmClient {
    /// Sends the prompt and streams the answer: `on_text` gets every piece of text as it
    /// arrives. Usage comes from the server when it reports it, else it is estimated at
    /// four characters a token.
    pub async fn complete(
        &self,
        config: &LlmConfig,
        messages: &[PromptMessage],
        on_text: impl FnMut(&str) + Send,
    ) -> Result<Completion, LlmError> {
        if !config.allow_private {
            check_url(&config.base_url, &["https", "http"], false)
                .map_err(|error| LlmError::Invalid(format!("the endpoint is refused: {error}")))?;
        }
        let http = if config.allow_private { &self.open } else { &self.public_only };
        complete(http, config, messages, on_text).await
    }
}

async fn complete(
    http: &reqwest::Client,
    config: &LlmConfig,
    messages: &[PromptMessage],
    mut on_text: impl FnMut(&str) + Send,
) -> Result<Completion, LlmError> {
    let mut openai = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/'));
    if let Some(key) = &config.api_key {
        openai = openai.with_api_key(key);
    }
    let limits = AnswerLimits::of(config.max_tokens);
    let transport = Bounded { inner: ReqwestService::new(http.clone()), max_bytes: limits.bytes };
    let client = Client::build(http.clone(), openai).with_http_service(transport);
    let request = request(config, messages);
    let call = async {
        let mut stream = client.chat().create_stream(request).await?;
        let mut text = String::new();
        let mut usage = None;
        let mut model = String::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            if model.is_empty() {
                model = chunk.model.clone();
            }
            if let Some(reported) = chunk.usage {
                usage = Some(Usage {
                    prompt_tokens: reported.prompt_tokens,
                    completion_tokens: reported.completion_tokens,
                });
            }
            for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
                if let Some(piece) = choice.delta.content.filter(|piece| !piece.is_empty()) {
                    let room = limits.chars.saturating_sub(text.chars().count());
                    let piece: String = piece.chars().take(room).collect();
                    on_text(&piece);
                    text.push_str(&piece);
                }
            }
            if text.chars().count() >= limits.chars {
                // A model that writes on past its token limit is cut off here; the rest
                // of the stream is never read.
                tracing::warn!(model = %config.model, chars = limits.chars, "an LLM answer reached its length limit");
                break;
            }
        }
        Ok::<_, LlmError>((text, usage, model))
    };
    let (text, usage, model) = match tokio::time::timeout(config.timeout, call).await {
        Ok(result) => result?,
        Err(_) => return Err(LlmError::Timeout(config.timeout)),
    };
    if text.trim().is_empty() {
        return Err(LlmError::Malformed("the model returned no text".into()));
    }
    let usage = usage.unwrap_or_else(|| Usage {
        prompt_tokens: estimate_tokens(messages.iter().map(|message| message.content.as_str())),
        completion_tokens: estimate_tokens([text.as_str()]),
    });
    Ok(Completion { text, usage, model: if model.is_empty() { config.model.clone() } else { model } })
}

/// How much of an answer is read, whatever the server sends: enough characters for
/// `max_tokens` tokens of any language (a token is at most a few characters), and enough
/// bytes of the event stream around them (each piece is a JSON event of a few hundred bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AnswerLimits {
    chars: usize,
    bytes: usize,
}

impl AnswerLimits {
    fn of(max_tokens: u32) -> Self {
        let tokens = max_tokens.max(1) as usize;
        Self {
            chars: tokens.saturating_mul(8).max(2_000),
            bytes: tokens.saturating_mul(2_048).clamp(1 << 20, 32 << 20),
        }
    }
}

/// async-openai's transport with the answer's body cut off after `max_bytes`: a server
/// that streams without end (or sends one endless event) cannot fill the memory.
#[derive(Clone, Debug)]
struct Bounded {
    inner: ReqwestService,
    max_bytes: usize,
}

impl tower::Service<HttpRequestFactory> for Bounded {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let sending = self.inner.call(request);
        let max_bytes = self.max_bytes;
        Box::pin(async move { bounded(sending.await?, max_bytes) })
    }
}

/// The response with a body that ends after `max_bytes`.
fn bounded(response: reqwest::Response, max_bytes: usize) -> Result<reqwest::Response, OpenAIError> {
    let mut head = http::Response::builder().status(response.status()).version(response.version());
    if let Some(headers) = head.headers_mut() {
        *headers = response.headers().clone();
        headers.remove(http::header::CONTENT_LENGTH);
    }
    let body = response.bytes_stream().scan(0usize, move |read, chunk| {
        let next = match chunk {
            Ok(_) if *read >= max_bytes => None,
            Ok(mut bytes) => {
                bytes.truncate(max_bytes - *read);
                *read += bytes.len();
                Some(Ok(bytes))
            }
            Err(error) => Some(Err(error)),
        };
        futures::future::ready(next)
    });
    head.body(reqwest::Body::wrap_stream(body))
        .map(reqwest::Response::from)
        .map_err(|error| OpenAIError::InvalidArgument(format!("the answer could not be read: {error}")))
}

/// The request body: the prompt, the tenant's limits, usage in the stream.
#[allow(deprecated)] // `max_tokens` is what OpenAI-compatible servers other than OpenAI read.
fn request(config: &LlmConfig, messages: &[PromptMessage]) -> CreateChatCompletionRequest {
    let messages = messages
        .iter()
        .map(|message| match message.role {
            Role::System => ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
                content: message.content.clone().into(),
                name: None,
            }),
            Role::User => ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
                content: message.content.clone().into(),
                name: None,
            }),
            Role::Assistant => ChatCompletionRequestMessage::Assistant(message.content.as_str().into()),
        })
        .collect();
    CreateChatCompletionRequest {
        messages,
        model: config.model.clone(),
        temperature: Some(config.temperature),
        max_tokens: Some(config.max_tokens),
        stream: Some(true),
        stream_options: Some(ChatCompletionStreamOptions { include_usage: Some(true), include_obfuscation: None }),
        response_format: config.response_schema.as_ref().map(|wanted| ResponseFormat::JsonSchema {
            json_schema: ResponseFormatJsonSchema {
                description: None,
                name: wanted.name.clone(),
                schema: wanted.schema.clone(),
                strict: Some(true),
            },
        }),
        ..Default::default()
    }
}

/// A rough token count (four characters a token; a CJK character is about one token).
fn estimate_tokens<'a>(texts: impl IntoIterator<Item = &'a str>) -> u32 {
    let mut tokens = 0.0f64;
    for text in texts {
        for c in text.chars() {
            tokens += if (c as u32) >= 0x2E80 { 1.0 } else { 0.25 };
        }
    }
    tokens.ceil() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_timeouts_and_server_errors_are_retried_refusals_are_not() {
        let status = |status| LlmError::Status { status, message: String::new() };
        assert!(status(429).is_retryable());
        assert!(status(503).is_retryable());
        assert!(LlmError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(LlmError::Malformed("x".into()).is_retryable());
        assert!(!status(401).is_retryable());
        assert!(!status(404).is_retryable());
    }

    #[test]
    fn token_estimates_count_cjk_characters_as_tokens() {
        assert_eq!(estimate_tokens(["abcdefgh"]), 2);
        assert_eq!(estimate_tokens(["退款政策"]), 4);
    }

    #[test]
    fn a_schema_is_asked_for_only_when_set() {
        let mut config = config("http://127.0.0.1:1/v1".into());
        assert!(request(&config, &prompt()).response_format.is_none());
        config.response_schema =
            Some(ResponseSchema { name: "labels".into(), schema: serde_json::json!({"type": "object"}) });
        let sent = serde_json::to_value(request(&config, &prompt())).expect("serialise");
        assert_eq!(sent["response_format"]["type"], "json_schema");
        assert_eq!(sent["response_format"]["json_schema"]["name"], "labels");
        assert_eq!(sent["response_format"]["json_schema"]["strict"], true);
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let config = LlmConfig {
            base_url: "http://127.0.0.1:1/v1".into(),
            api_key: Some("sk-very-secret".into()),
            model: "m".into(),
            temperature: 0.2,
            max_tokens: 10,
            timeout: Duration::from_secs(1),
            allow_private: false,
            response_schema: None,
        };
        assert!(!format!("{config:?}").contains("sk-very-secret"));
    }

    /// A server that answers one streamed chat call with `head` and then `piece` over
    /// and over; returns its base URL and the count of bytes it managed to write.
    async fn endless_server(piece: &'static [u8]) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::{Arc, atomic::AtomicUsize, atomic::Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}/v1", listener.local_addr().expect("address"));
        let written = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&written);
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut request = vec![0; 256 * 1024];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let block = piece.repeat((64 * 1024 / piece.len()).max(1));
            while counter.load(Ordering::SeqCst) < 1 << 30 {
                if socket.write_all(&block).await.is_err() {
                    return;
                }
                counter.fetch_add(block.len(), Ordering::SeqCst);
            }
        });
        (base, written)
    }

    fn config(base_url: String) -> LlmConfig {
        LlmConfig {
            base_url,
            api_key: None,
            model: "m".into(),
            temperature: 0.2,
            max_tokens: 100,
            timeout: Duration::from_secs(60),
            allow_private: true,
            response_schema: None,
        }
    }

    fn prompt() -> Vec<PromptMessage> {
        vec![PromptMessage { role: Role::User, content: "Where is my parcel?".into() }]
    }

    #[tokio::test]
    async fn an_answer_that_never_ends_is_cut_at_its_length_limit() {
        let event: &'static [u8] =
            b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"spam \"}}]}\n\n";
        let (base, written) = endless_server(event).await;
        let mut streamed = 0;
        let completion = LlmClient::default()
            .complete(&config(base), &prompt(), |piece| streamed += piece.chars().count())
            .await
            .expect("the answer up to its limit");
        let limit = AnswerLimits::of(100).chars;
        assert_eq!(completion.text.chars().count(), limit);
        assert_eq!(streamed, limit, "what was streamed is what was kept");
        let sent = written.load(std::sync::atomic::Ordering::SeqCst);
        assert!(sent < 64 << 20, "{sent} bytes were taken from the server");
    }

    #[tokio::test]
    async fn one_endless_event_is_not_read_past_the_byte_limit() {
        let (base, written) =
            endless_server(b"data: {\"spam\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").await;
        let outcome = LlmClient::default().complete(&config(base), &prompt(), |_| {}).await;
        assert!(outcome.is_err(), "no text came: {outcome:?}");
        let sent = written.load(std::sync::atomic::Ordering::SeqCst);
        assert!(sent < AnswerLimits::of(100).bytes + (32 << 20), "{sent} bytes were taken from the server");
    }
}
