//! The chat call: one streamed request to an OpenAI-compatible `/chat/completions`
//! endpoint, text handed to a callback as it arrives, usage read from the final chunk (or
//! estimated when the server sends none), and failures sorted into retryable or not.

use std::time::Duration;

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::ReqwestService,
    types::chat::{
        ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
        ChatCompletionStreamOptions, CreateChatCompletionRequest,
    },
};
use futures::StreamExt;

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
            OpenAIError::ApiError(response) => Self::Status {
                status: response.status_code.as_u16(),
                message: shorten(&response.api_error.message, 300),
            },
            OpenAIError::Reqwest(error) if error.is_timeout() => Self::Timeout(Duration::ZERO),
            OpenAIError::Reqwest(error) => Self::Transport(error.to_string()),
            OpenAIError::JSONDeserialize(error, content) => {
                Self::Malformed(format!("{error} in {}", shorten(&content, 200)))
            }
            OpenAIError::StreamError(error) => Self::Malformed(shorten(&error.to_string(), 300)),
            OpenAIError::InvalidArgument(message) => Self::Invalid(message),
            other => Self::Transport(other.to_string()),
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    let mut short: String = text.chars().take(max).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Calls LLMs over one HTTP connection pool. Requests go straight to it: the caller's
/// durable retries are the only retry policy (async-openai's built-in retry layer is left
/// out), so every attempt is visible on the draft.
#[derive(Clone, Debug)]
pub struct LlmClient {
    http: reqwest::Client,
}

impl Default for LlmClient {
    fn default() -> Self {
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { http }
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
        complete(&self.http, config, messages, on_text).await
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
    let client = Client::build(http.clone(), openai).with_http_service(ReqwestService::new(http.clone()));
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
                    on_text(&piece);
                    text.push_str(&piece);
                }
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
        })
        .collect();
    CreateChatCompletionRequest {
        messages,
        model: config.model.clone(),
        temperature: Some(config.temperature),
        max_tokens: Some(config.max_tokens),
        stream: Some(true),
        stream_options: Some(ChatCompletionStreamOptions { include_usage: Some(true), include_obfuscation: None }),
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
    fn the_key_never_shows_in_debug_output() {
        let config = LlmConfig {
            base_url: "http://127.0.0.1:1/v1".into(),
            api_key: Some("sk-very-secret".into()),
            model: "m".into(),
            temperature: 0.2,
            max_tokens: 10,
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{config:?}").contains("sk-very-secret"));
    }
}
