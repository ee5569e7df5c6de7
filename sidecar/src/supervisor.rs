//! Runs the embedded `livekit-server` and keeps it up: checks its port is free, writes its
//! generated config to a private temp file, spawns it, forwards its output into our log,
//! judges readiness by `GET /` answering 200 (never by its exit code: a config error can exit
//! 0), restarts it with exponential backoff and jitter, gives up after repeated fast crashes
//! (saying why, with its last lines), and stops it gracefully (SIGTERM, then SIGKILL after a
//! grace period). The temp config goes when LiveKit exits; stale ones of dead processes are
//! removed at start.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::livekit_config::LiveKitServerConfig;

/// Lines of LiveKit's output kept to explain a give-up.
const LAST_LINES: usize = 20;

/// How the supervisor behaves; `Default` is what `bedrud run` uses.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long LiveKit may take to answer `GET /` with 200 after a start.
    pub ready_timeout: Duration,
    /// Health checks while running, and how many may fail in a row before a restart.
    pub health_every: Duration,
    pub health_failures: u32,
    /// First restart delay, doubled per consecutive fast crash, capped.
    pub backoff: Duration,
    pub backoff_max: Duration,
    /// A run shorter than this is a fast crash; this many in a row and we give up.
    pub fast: Duration,
    pub max_fast_crashes: u32,
    /// SIGTERM, then SIGKILL after this.
    pub grace: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            ready_timeout: Duration::from_secs(30),
            health_every: Duration::from_secs(5),
            health_failures: 3,
            backoff: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            fast: Duration::from_secs(30),
            max_fast_crashes: 5,
            grace: Duration::from_secs(10),
        }
    }
}

/// Where the supervisor is (the admin status shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Running {
        pid: u32,
    },
    Restarting {
        attempt: u32,
        last_exit: String,
    },
    GaveUp {
        reason: String,
        last_lines: Vec<String>,
    },
    Stopped,
}

/// What LiveKit is started with.
pub enum Source {
    /// Generated here and written to a private temp file for each start.
    Generated(Box<LiveKitServerConfig>),
    /// `livekit.configPath`: used as is; health is checked on `port`.
    File { path: PathBuf, port: u16 },
}

impl Source {
    fn port(&self) -> u16 {
        match self {
            Source::Generated(c) => c.port,
            Source::File { port, .. } => *port,
        }
    }
}

pub struct Supervisor {
    version: Option<String>,
    phase: watch::Receiver<Phase>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Starts supervising `binary` with a generated config (its `port` is checked).
    pub fn start(binary: PathBuf, config: LiveKitServerConfig, policy: Policy) -> Self {
        Self::start_with(binary, Source::Generated(Box::new(config)), policy)
    }

    pub fn start_with(binary: PathBuf, config: Source, policy: Policy) -> Self {
        let (phase_tx, phase) = watch::channel(Phase::Starting);
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(binary, config, policy, phase_tx, stop_rx));
        Self {
            version: None,
            phase,
            stop,
            task,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    /// What `livekit-server --version` said, for the admin status.
    pub fn with_version(mut self, version: Option<String>) -> Self {
        self.version = version;
        self
    }

    /// The phase (and version) as the admin LiveKit status shows it.
    pub fn reporter(&self) -> impl Fn() -> serde_json::Value + Send + Sync + 'static {
        let (phase, version) = (self.phase.clone(), self.version.clone());
        move || {
            let mut v = report(&phase.borrow());
            v["version"] = serde_json::json!(version);
            v
        }
    }

    /// Waits until the phase satisfies `f` (tests, and `run` waiting for readiness).
    pub async fn wait_for(&mut self, f: impl Fn(&Phase) -> bool) -> Phase {
        let seen = self.phase.wait_for(|p| f(p)).await.map(|p| p.clone());
        seen.unwrap_or_else(|_| self.phase())
    }

    /// Stops LiveKit gracefully and waits for the supervisor to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn supervise(
    binary: PathBuf,
    config: Source,
    policy: Policy,
    phase: watch::Sender<Phase>,
    mut stop: watch::Receiver<bool>,
) {
    let port = config.port();
    let mut fast_crashes = 0u32;
    let mut last_lines: Arc<Mutex<VecDeque<String>>> = Arc::default();
    loop {
        if let Err(reason) = port_free(port) {
            let _ = phase.send(Phase::GaveUp {
                reason,
                last_lines: Vec::new(),
            });
            return;
        }
        let temp = match &config {
            Source::Generated(c) => match crate::livekit_config::write_temp(c) {
                Ok(t) => Some(t),
                Err(e) => {
                    give_up(
                        &phase,
                        format!("cannot write LiveKit's config file: {e}"),
                        &last_lines,
                    );
                    return;
                }
            },
            Source::File { .. } => None,
        };
        let path: &Path = match (&temp, &config) {
            (Some(t), _) => t,
            (None, Source::File { path, .. }) => path,
            (None, Source::Generated(_)) => unreachable!("generated configs have a temp file"),
        };
        let _ = phase.send(Phase::Starting);
        let mut child = match spawn(&binary, path, &last_lines) {
            Ok(c) => c,
            Err(e) => {
                give_up(
                    &phase,
                    format!("cannot start {}: {e}", binary.display()),
                    &last_lines,
                );
                return;
            }
        };
        let started = Instant::now();
        let exit = watch_child(&mut child, port, &policy, &phase, &mut stop).await;
        drop(temp); // the config (it holds the API secret) goes with the process
        let exit = match exit {
            Exit::Stopped => {
                terminate(&mut child, policy.grace).await;
                let _ = phase.send(Phase::Stopped);
                return;
            }
            Exit::Exited(how) => how,
            Exit::Unhealthy(why) => {
                terminate(&mut child, policy.grace).await;
                why
            }
        };
        if started.elapsed() < policy.fast {
            fast_crashes += 1;
        } else {
            fast_crashes = 0;
        }
        tracing::warn!(exit = %exit, fast_crashes, "livekit-server stopped");
        if fast_crashes >= policy.max_fast_crashes {
            give_up(
                &phase,
                format!(
                    "livekit-server failed {fast_crashes} times in a row within {:?} of starting (last: {exit}); see its last lines",
                    policy.fast
                ),
                &last_lines,
            );
            return;
        }
        let delay = backoff(&policy, fast_crashes);
        let _ = phase.send(Phase::Restarting {
            attempt: fast_crashes,
            last_exit: exit,
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {
                let _ = phase.send(Phase::Stopped);
                return;
            }
        }
        last_lines = Arc::default();
    }
}

enum Exit {
    Stopped,
    Exited(String),
    Unhealthy(String),
}

/// Readiness, then health, until the process exits, turns unhealthy, or we are told to stop.
async fn watch_child(
    child: &mut Child,
    port: u16,
    policy: &Policy,
    phase: &watch::Sender<Phase>,
    stop: &mut watch::Receiver<bool>,
) -> Exit {
    let deadline = Instant::now() + policy.ready_timeout;
    loop {
        tokio::select! {
            status = child.wait() => return Exit::Exited(describe(status)),
            _ = stop.changed() => return Exit::Stopped,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        if health(port).await == Some(200) {
            break;
        }
        if Instant::now() > deadline {
            return Exit::Unhealthy(format!(
                "not ready within {:?} (GET / never answered 200)",
                policy.ready_timeout
            ));
        }
    }
    let _ = phase.send(Phase::Running {
        pid: child.id().unwrap_or_default(),
    });
    tracing::info!(port, "livekit-server is ready");
    let mut failures = 0;
    loop {
        tokio::select! {
            status = child.wait() => return Exit::Exited(describe(status)),
            _ = stop.changed() => return Exit::Stopped,
            _ = tokio::time::sleep(policy.health_every) => {}
        }
        if health(port).await == Some(200) {
            failures = 0;
        } else {
            failures += 1;
            if failures >= policy.health_failures {
                return Exit::Unhealthy(format!("{failures} failed health checks in a row"));
            }
        }
    }
}

fn spawn(
    binary: &Path,
    config: &Path,
    lines: &Arc<Mutex<VecDeque<String>>>,
) -> std::io::Result<Child> {
    let mut child = Command::new(binary)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    for out in [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    ]
    .into_iter()
    .flatten()
    {
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(out).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                tracing::info!(target: "livekit", "{line}");
                let mut kept = lines.lock().expect("lines");
                if kept.len() == LAST_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
    }
    Ok(child)
}

/// SIGTERM, then SIGKILL after `grace`; always reaped, so no orphan and no zombie.
async fn terminate(child: &mut Child, grace: Duration) {
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
        tracing::warn!(pid, "livekit-server ignored SIGTERM; killing it");
    }
    let _ = child.kill().await;
}

fn give_up(phase: &watch::Sender<Phase>, reason: String, lines: &Arc<Mutex<VecDeque<String>>>) {
    let last_lines: Vec<String> = lines.lock().expect("lines").iter().cloned().collect();
    tracing::error!(%reason, ?last_lines, "gave up on livekit-server");
    let _ = phase.send(Phase::GaveUp { reason, last_lines });
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => format!("unknown exit: {e}"),
    }
}

/// `base · 2^(n-1)`, capped, plus up to 25 % jitter so restarts of many nodes spread out.
fn backoff(policy: &Policy, n: u32) -> Duration {
    let exp = policy
        .backoff
        .saturating_mul(1 << n.saturating_sub(1).min(16))
        .min(policy.backoff_max);
    let jitter = exp.mul_f64(rand_fraction() * 0.25);
    exp + jitter
}

fn rand_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}

/// The port must be free before LiveKit takes it: a clear error beats its own.
fn port_free(port: u16) -> Result<(), String> {
    std::net::TcpListener::bind(("0.0.0.0", port))
        .map(drop)
        .map_err(|e| {
            format!(
                "port {port} is already in use ({e}): stop what holds it (another livekit-server?) or set livekit.port"
            )
        })
}

/// `GET /` on loopback: the status code, or `None` if nothing answered.
async fn health(port: u16) -> Option<u16> {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 32];
        let n = s.read(&mut head).await.ok()?;
        let line = std::str::from_utf8(&head[..n]).ok()?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
}

/// Finds `livekit-server`: `livekit.binaryPath`, else `LIVEKIT_BIN`, else `PATH`.
pub fn find_binary(configured: Option<&Path>) -> Option<PathBuf> {
    let explicit = configured
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("LIVEKIT_BIN").map(PathBuf::from));
    if let Some(p) = explicit {
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("livekit-server"))
        .find(|p| p.is_file())
}

/// `livekit-server --version` → `1.13.5`.
pub async fn version(binary: &Path) -> Option<String> {
    let out = Command::new(binary).arg("--version").output().await.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().last().map(str::to_string)
}

/// Removes `bedrud-livekit-<pid>-*.yaml` files left in `dir` by processes that are gone.
pub fn remove_stale_configs(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("bedrud-livekit-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive && name.ends_with(".yaml") && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn report(p: &Phase) -> serde_json::Value {
    use serde_json::json;
    match p {
        Phase::Starting => json!({ "state": "starting" }),
        Phase::Running { pid } => json!({ "state": "running", "pid": pid }),
        Phase::Restarting { attempt, last_exit } => {
            json!({ "state": "restarting", "attempt": attempt, "lastExit": last_exit })
        }
        Phase::GaveUp { reason, last_lines } => {
            json!({ "state": "gave_up", "reason": reason, "lastLines": last_lines })
        }
        Phase::Stopped => json!({ "state": "stopped" }),
    }
}
