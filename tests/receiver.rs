//! A webhook receiver for tests, on a loopback port: it records every request (headers and
//! body), checks its Standard Webhooks signature against the secrets it was given, and
//! answers with the status it is told to (or is stopped, so connections are refused).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use poem::{
    EndpointExt, Request, Response, Route, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::Data,
};
use serde_json::Value;
use sha2::Sha256;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Value,
    pub status: u16,
    /// Which of the receiver's secrets (by index) verify one of the signatures.
    pub verified_by: Vec<usize>,
}

#[derive(Default)]
struct State {
    status: u16,
    delay: Duration,
    secrets: Vec<String>,
    received: Vec<Received>,
}

/// A running receiver.
pub struct Receiver {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn verify(secret: &str, id: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else { return false };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|part| part == expected)
}

#[handler]
async fn receive(request: &Request, body: poem::Body, state: Data<&Arc<Mutex<State>>>) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (id, timestamp, signature) = (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let (status, delay) = {
        let Ok(mut state) = state.0.lock() else {
            return Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).finish();
        };
        let verified_by = state
            .secrets
            .iter()
            .enumerate()
            .filter(|(_, secret)| verify(secret, &id, &timestamp, &bytes, &signature))
            .map(|(index, _)| index)
            .collect();
        let status = state.status;
        state.received.push(Received {
            id,
            timestamp,
            signature,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            status,
            verified_by,
        });
        (status, state.delay)
    };
    tokio::time::sleep(delay).await;
    Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK)).body("ok")
}

impl Receiver {
    /// Starts a receiver answering 200 on a free loopback port.
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State { status: 200, ..State::default() }));
        let mut receiver = Self { address: ([127, 0, 0, 1], 0).into(), state, stop: None };
        receiver.listen(0).await;
        receiver
    }

    async fn listen(&mut self, port: u16) {
        let app = Route::new().at("/hook", post(receive)).data(Arc::clone(&self.state));
        let acceptor =
            TcpListener::bind(format!("127.0.0.1:{port}")).into_acceptor().await.expect("bind a loopback port");
        self.address =
            acceptor.local_addr().first().and_then(|addr| addr.as_socket_addr().copied()).expect("a socket address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(
            app,
            async move {
                let _ = stopped.await;
            },
            Some(Duration::from_millis(100)),
        ));
        self.stop = Some(stop);
    }

    /// `http://127.0.0.1:<port>/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// Stops listening: connections are refused until [`Receiver::restart`].
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.listen(self.address.port()).await;
    }

    pub fn answer(&self, status: u16) {
        if let Ok(mut state) = self.state.lock() {
            state.status = status;
        }
    }

    pub fn delay(&self, delay: Duration) {
        if let Ok(mut state) = self.state.lock() {
            state.delay = delay;
        }
    }

    /// The secrets signatures are checked against.
    pub fn trust(&self, secrets: &[&str]) {
        if let Ok(mut state) = self.state.lock() {
            state.secrets = secrets.iter().map(|s| (*s).to_owned()).collect();
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().map(|state| state.received.clone()).unwrap_or_default()
    }

    /// Waits up to `within` until `done` holds for what was received; returns it.
    pub async fn wait_until(&self, within: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
