//! A real SMTP server for the mail tests: aiosmtpd (installed by `.ci/tools.sh`) on a free
//! loopback port, delivering into a maildir the test reads. Stopped (by its PID) on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

/// One delivered message: its headers and its decoded text (quoted-printable undone).
#[derive(Debug, Clone)]
pub struct Delivered {
    pub raw: String,
    pub text: String,
}

impl Delivered {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.raw
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }

    /// The token of the first `path?token=` link in the message.
    pub fn token(&self, path: &str) -> Option<String> {
        let at = self.text.find(&format!("{path}?token="))? + path.len() + "?token=".len();
        Some(
            self.text[at..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == '.')
                .collect(),
        )
    }
}

/// Plain SMTP to `port` on loopback (a sink's, or one nothing listens on).
pub fn mail_to_port(c: &mut bedrud_shared::config::Config, port: u16) {
    use bedrud_shared::config::{MailProvider, SmtpTls};
    c.email.provider = Some(MailProvider::Smtp);
    c.email.smtp_host = Some("127.0.0.1".into());
    c.email.smtp_port = port;
    c.email.tls_mode = Some(SmtpTls::None);
    c.email.from_address = Some("no-reply@bedrud.test".into());
    c.email.from_name = Some("Bedrud".into());
}

impl SmtpSink {
    /// Points a configuration's mail at this sink.
    pub fn configure(&self, c: &mut bedrud_shared::config::Config) {
        mail_to_port(c, self.port);
    }

    pub fn start() -> Self {
        let python = std::env::var("BEDRUD_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let dir = tempfile::tempdir().expect("maildir");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().unwrap().port()
        };
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start aiosmtpd with {python} (run the README's test command): {e}")
            });
        let sink = Self { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        sink
    }

    fn new_dir(&self) -> PathBuf {
        self.dir.path().join("mail/new")
    }

    /// Every message delivered so far.
    pub fn all(&self) -> Vec<Delivered> {
        let Ok(entries) = std::fs::read_dir(self.new_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|raw| Delivered {
                text: unfold_quoted_printable(&raw),
                raw,
            })
            .collect()
    }

    /// The delivered message to `to` whose subject starts with `subject`.
    pub fn about(&self, to: &str, subject: &str) -> Delivered {
        self.all()
            .into_iter()
            .find(|m| {
                m.header("To").is_some_and(|t| t.contains(to))
                    && m.header("Subject").is_some_and(|s| s.starts_with(subject))
            })
            .unwrap_or_else(|| panic!("no message to {to} about {subject}"))
    }

    /// Waits for the `n`th (1-based) message to `to`.
    pub async fn wait_for(&self, to: &str, n: usize) -> Delivered {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mine: Vec<Delivered> = self
                .all()
                .into_iter()
                .filter(|m| m.header("To").is_some_and(|t| t.contains(to)))
                .collect();
            if mine.len() >= n {
                return mine[n - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no message {n} to {to}; delivered: {:#?}",
                self.all()
                    .iter()
                    .map(|m| m.header("To"))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Soft line breaks removed and `=XX` escapes decoded (enough for links and plain text).
fn unfold_quoted_printable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::with_capacity(joined.len());
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v as char);
            i += 3;
            continue;
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}
