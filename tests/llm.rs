//! An OpenAI-compatible chat completions server for tests, on a loopback port: it answers
//! `POST /v1/chat/completions` (streamed or not) from a queue of scripted replies, and
//! when the queue is empty with a grounded default (the first sentence of passage `S1`,
//! cited). It records every request so tests can check what the service sent.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures_util::StreamExt;
use poem::{
    Body, EndpointExt, Response, Route, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::{Data, Json},
};
use serde_json::{Value, json};

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum LlmReply {
    /// This text, streamed in small pieces.
    Text(String),
    /// This text, each piece after `pause`.
    SlowText(String, Duration),
    /// An error status with an OpenAI-style error body.
    Status(u16),
    /// Nothing for this long, then the default answer.
    Silent(Duration),
    /// A stream whose events are not JSON.
    Malformed,
}

#[derive(Default)]
struct Script {
    queue: VecDeque<LlmReply>,
    requests: Vec<(Value, Option<String>)>,
}

/// A running test LLM.
#[derive(Clone)]
pub struct TestLlm {
    pub address: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl TestLlm {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = Route::new().at("/v1/chat/completions", post(chat)).data(Arc::clone(&script));
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind a loopback port");
        let address =
            acceptor.local_addr().first().and_then(|addr| addr.as_socket_addr().copied()).expect("a socket address");
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        Self { address, script }
    }

    /// The API root to configure (`http://127.0.0.1:PORT/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.address)
    }

    /// Queues replies for the next requests.
    pub fn push(&self, replies: impl IntoIterator<Item = LlmReply>) {
        self.script.lock().expect("script lock").queue.extend(replies);
    }

    /// Every request body received so far, oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.script.lock().expect("script lock").requests.iter().map(|(body, _)| body.clone()).collect()
    }

    /// The `Authorization` header of every request so far.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.script.lock().expect("script lock").requests.iter().map(|(_, auth)| auth.clone()).collect()
    }
}

/// The system and user messages of a recorded request.
pub fn prompt_of(request: &Value) -> (String, String) {
    let text = |role: &str| {
        request["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|message| message["role"] == role)
            .filter_map(|message| message["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    (text("system"), text("user"))
}

/// The grounded default: greets, states the first sentence of passage S1 and cites it;
/// says it has no answer when no passage was given.
fn default_answer(request: &Value) -> String {
    let (system, user) = prompt_of(request);
    if system.starts_with("You summarise customer support conversations") {
        return summary_answer(&user);
    }
    if system.starts_with("You translate customer support messages") {
        let text: Vec<&str> = user.lines().skip(1).take_while(|line| !line.starts_with("===== END TEXT")).collect();
        return format!("TRANSLATED: {}", text.join("\n"));
    }
    if system.starts_with("You label customer support messages") {
        return label_answer(&system, &user);
    }
    if system.starts_with("You name intents of customer support messages") {
        return name_answer(&user);
    }
    if system.starts_with("You rewrite a customer support agent's text") {
        // The text between the fences, unchanged but for a greeting: every fact survives.
        let text: Vec<&str> = user.lines().skip(1).take_while(|line| !line.starts_with("===== END TEXT")).collect();
        return format!("Rewritten: {}", text.join("\n"));
    }
    let passage = user.split("[S1] ").nth(1).and_then(|rest| rest.split_once('\n')).map(|(_, text)| text);
    match passage {
        Some(text) => {
            let sentence = text.split_inclusive(['.', '。', '\n']).next().unwrap_or(text).trim();
            format!("Hello,\n\n{sentence} [S1]\n\nBest regards")
        }
        None => "[NO_ANSWER] Hello,\n\nCould you tell us more about your question?\n\nBest regards".into(),
    }
}

/// A name for a group of messages: `group_` and the longest word of the first message.
fn name_answer(user: &str) -> String {
    let first = user.lines().find_map(|line| line.strip_prefix("[1] ")).unwrap_or_default().to_lowercase();
    let word = first
        .split(|c: char| !c.is_ascii_alphabetic())
        .max_by_key(|word| word.len())
        .filter(|word| !word.is_empty())
        .unwrap_or("messages");
    json!({"label": format!("group_{word}"), "description": format!("Messages like: {first}")}).to_string()
}

/// Labels for the numbered messages in the prompt: the first listed label whose words all
/// occur in the message (`order_status` in "the status of my order"), else `other`.
fn label_answer(system: &str, user: &str) -> String {
    let labels: Vec<&str> = system
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .map(|line| line.split(':').next().unwrap_or(line).trim())
        .collect();
    let entries: Vec<Value> = user
        .lines()
        .filter_map(|line| {
            let (number, text) = line.strip_prefix('[')?.split_once("] ")?;
            let number: u64 = number.parse().ok()?;
            let text = text.to_lowercase();
            let label = labels
                .iter()
                .find(|label| **label != "other" && label.split('_').all(|word| text.contains(word)))
                .copied()
                .unwrap_or("other");
            Some(json!({"ref": number, "label": label, "confidence": 0.9}))
        })
        .collect();
    json!({ "labels": entries }).to_string()
}

/// A summary of the conversation in the prompt, as the JSON object asked for: the first
/// customer message as the goal, the agents' replies as what was tried, the last customer
/// message as the open question.
fn summary_answer(user: &str) -> String {
    let lines: Vec<&str> = user.lines().collect();
    let said = |who: &str| -> Vec<String> {
        lines.iter().filter_map(|line| line.strip_prefix(who)).map(|text| text.trim().to_owned()).collect()
    };
    let (customer, agent) = (said("Customer: "), said("Agent: "));
    let first = customer.first().cloned().unwrap_or_default();
    json!({
        "text": format!("The customer wrote {} message(s), first: {first}", customer.len()),
        "customer_goal": first,
        "what_was_tried": agent,
        "open_questions": customer.last().filter(|text| text.contains('?')).into_iter().collect::<Vec<_>>(),
    })
    .to_string()
}

#[handler]
async fn chat(request: &poem::Request, body: Json<Value>, script: Data<&Arc<Mutex<Script>>>) -> Response {
    let auth = request.headers().get("authorization").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let next = {
        let mut script = script.lock().expect("script lock");
        script.requests.push((body.0.clone(), auth));
        script.queue.pop_front()
    };
    let model = body.0["model"].as_str().unwrap_or("test-model").to_owned();
    let stream = body.0["stream"].as_bool().unwrap_or(false);
    let (text, pause) = match next {
        None => (default_answer(&body.0), Duration::ZERO),
        Some(LlmReply::Text(text)) => (text, Duration::ZERO),
        Some(LlmReply::SlowText(text, pause)) => (text, pause),
        Some(LlmReply::Silent(wait)) => {
            tokio::time::sleep(wait).await;
            (default_answer(&body.0), Duration::ZERO)
        }
        Some(LlmReply::Status(status)) => {
            let body = json!({"error": {"message": format!("scripted failure {status}"), "type": "server_error", "param": null, "code": null}});
            return Response::builder()
                .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                .content_type("application/json")
                .body(body.to_string());
        }
        Some(LlmReply::Malformed) => {
            return Response::builder()
                .content_type("text/event-stream")
                .body("data: {this is not json\n\ndata: [DONE]\n\n");
        }
    };
    let prompt_tokens = prompt_of(&body.0).0.len() as u64 / 4 + prompt_of(&body.0).1.len() as u64 / 4;
    let completion_tokens = (text.chars().count() as u64 / 4).max(1);
    if !stream {
        let reply = json!({
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        });
        return Response::builder().content_type("application/json").body(reply.to_string());
    }
    let chunk = |delta: Value, finish: Value| {
        json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    };
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    let pieces: Vec<String> = text.chars().collect::<Vec<_>>().chunks(8).map(|piece| piece.iter().collect()).collect();
    events.extend(pieces.into_iter().map(|piece| chunk(json!({"content": piece}), Value::Null)));
    events.push(chunk(json!({}), json!("stop")));
    events.push(json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1, "model": model, "choices": [],
                       "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}}));
    let mut lines: Vec<String> = events.into_iter().map(|event| format!("data: {event}\n\n")).collect();
    lines.push("data: [DONE]\n\n".into());
    let body = futures_util::stream::iter(lines).then(move |line| async move {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        Ok::<_, std::io::Error>(line)
    });
    Response::builder().content_type("text/event-stream").body(Body::from_bytes_stream(body))
}
