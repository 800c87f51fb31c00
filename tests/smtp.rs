//! A real SMTP server on loopback for the e-mail tests: `tests/smtp_sink.py` (aiosmtpd)
//! run by the Python that `scripts/test` prepares (`COPILOT_TEST_SMTP_PYTHON`).

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// One SMTP server and the folder its accepted messages land in.
pub struct SmtpSink {
    pub port: u16,
    folder: PathBuf,
    child: Option<Child>,
}

fn python() -> String {
    std::env::var("COPILOT_TEST_SMTP_PYTHON").unwrap_or_else(|_| "python3".into())
}

impl SmtpSink {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        let folder = std::env::temp_dir().join(format!("copilot-smtp-{}", uuid::Uuid::new_v4().simple()));
        let mut sink = Self { port: 0, folder, child: None };
        sink.spawn(None);
        sink
    }

    fn spawn(&mut self, port: Option<u16>) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/smtp_sink.py");
        let mut command = Command::new(python());
        command.arg(script).arg(&self.folder);
        if let Some(port) = port {
            command.arg(port.to_string());
        }
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap_or_else(|error| {
            panic!("cannot start the SMTP sink with {} ({error}); run the tests through scripts/test", python())
        });
        let stdout = child.stdout.take().expect("the sink's stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the sink prints its port");
        self.port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP sink did not start (is aiosmtpd installed for {}?)", python()));
        self.child = Some(child);
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server: connections are refused until [`SmtpSink::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn(Some(self.port));
    }

    /// While on, the server answers 451 (try later) to every message.
    pub fn set_failing(&self, on: bool) {
        self.flag("fail", on);
    }

    /// While on, the server answers 550 (refused for good) to every message.
    pub fn set_rejecting(&self, on: bool) {
        self.flag("reject", on);
    }

    /// While on, the server stores each message and then holds its answer for a minute.
    pub fn set_holding(&self, on: bool) {
        self.flag("hold", on);
    }

    /// The server stores each message and then holds its answer for `hold`.
    pub fn set_holding_for(&self, hold: Duration) {
        std::fs::write(self.folder.join("hold"), hold.as_secs_f64().to_string()).expect("set the sink's hold");
    }

    fn flag(&self, name: &str, on: bool) {
        let path = self.folder.join(name);
        if on {
            std::fs::write(path, b"").expect("set the sink's flag");
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// The raw messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.folder)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.retain(|path| path.extension().is_some_and(|ext| ext == "eml"));
        paths.sort();
        paths.iter().filter_map(|path| std::fs::read(path).ok()).collect()
    }

    /// Waits up to `within` for at least `count` messages; returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count || tokio::time::Instant::now() >= deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}
