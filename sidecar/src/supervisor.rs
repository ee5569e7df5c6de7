//! Runs the programs `bedrud run` depends on (`livekit-server`, and for recordings
//! `redis-server` and LiveKit's `egress`) and keeps them up: checks each one's port is free,
//! writes its generated config to a private temp file, spawns it, forwards its output into
//! our log, judges readiness by probing the service itself (never by its exit code: a config
//! error can exit 0), restarts it with exponential backoff and jitter, gives up after
//! repeated fast crashes (saying why, with its last lines), and stops it gracefully (SIGTERM,
//! then SIGKILL after a grace period). The temp config goes when the program exits; stale
//! ones of dead processes are removed at start.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use bedrud_shared::config::ConfigError;

use crate::livekit_config::LiveKitServerConfig;

/// Lines of a program's output kept to explain a give-up.
const LAST_LINES: usize = 20;

/// How the supervisor behaves; `Default` is what `bedrud run` uses.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a program may take to pass its probe after a start.
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

/// A program bedrud can run: its executable's name, and where an operator points at it.
pub struct Tool {
    pub name: &'static str,
    /// The config key and the environment variable holding its path.
    pub key: &'static str,
    pub env: &'static str,
    /// How to get it, for messages.
    pub install: &'static str,
}

pub const LIVEKIT: Tool = Tool {
    name: "livekit-server",
    key: "livekit.binaryPath",
    env: "LIVEKIT_BIN",
    install: "install it (https://docs.livekit.io/home/self-hosting/local/) or set \
              livekit.external with livekit.host/apiKey/apiSecret",
};

pub const REDIS: Tool = Tool {
    name: "redis-server",
    key: "redis.binaryPath",
    env: "REDIS_BIN",
    install: "install the redis-server package (apt install redis-server)",
};

pub const EGRESS: Tool = Tool {
    name: "egress",
    key: "egress.binaryPath",
    env: "EGRESS_BIN",
    install: "install LiveKit Egress with Chrome and GStreamer (https://docs.livekit.io/home/self-hosting/egress/)",
};

/// What a program is started with.
pub enum Source {
    /// Generated here and written to a private temp file for each start.
    Generated(String),
    /// Given by the operator (`livekit.configPath`, `egress.configPath`): used as is.
    File(PathBuf),
}

impl Source {
    /// An operator's config file (`livekit.configPath`, `egress.configPath`), used as is: it
    /// must be readable now, not only at the first restart.
    pub fn given(path: &Path, key: &str, env: &str, file: &str) -> Result<Self, ConfigError> {
        std::fs::File::open(path).map_err(|e| {
            ConfigError::new(
                key,
                format!("{}: {e}", path.display()),
                format!(
                    "point {key} ({env}) at a readable {file}, or leave it empty to generate one"
                ),
            )
        })?;
        Ok(Source::File(path.to_path_buf()))
    }
}

/// How a program shows it is up.
#[derive(Debug, Clone)]
pub enum Probe {
    /// `GET /` on loopback answers 200 (LiveKit; egress on its health port).
    Http { port: u16 },
    /// `PING` answers `+PONG`, after `AUTH` when there is a password (Redis).
    Redis { port: u16, password: Option<String> },
}

impl Probe {
    pub fn port(&self) -> u16 {
        match self {
            Probe::Http { port } | Probe::Redis { port, .. } => *port,
        }
    }

    /// Whether the program answers as ready, now.
    pub async fn ready(&self) -> bool {
        match self {
            Probe::Http { port } => health(*port).await == Some(200),
            Probe::Redis { port, password } => {
                redis_ping(&format!("127.0.0.1:{port}"), None, password.as_deref())
                    .await
                    .is_ok()
            }
        }
    }
}

/// One supervised program.
pub struct Program {
    pub tool: &'static Tool,
    pub binary: PathBuf,
    pub config: Source,
    /// How the config file is passed: after this flag, or alone (`redis-server FILE`).
    pub config_flag: Option<&'static str>,
    pub probe: Probe,
    /// The key that moves the probed port, named when the port is taken.
    pub port_key: &'static str,
    /// Temp config files are `bedrud-<kind>-<pid>-*`.
    pub kind: &'static str,
}

impl Program {
    /// The embedded LiveKit: `--config FILE`, ready when `GET /` answers 200.
    pub fn livekit(binary: PathBuf, config: Source, port: u16) -> Self {
        Self {
            tool: &LIVEKIT,
            binary,
            config,
            config_flag: Some("--config"),
            probe: Probe::Http { port },
            port_key: "livekit.port",
            kind: "livekit",
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
    /// Starts supervising `binary` as the embedded LiveKit with a generated config.
    pub fn start(binary: PathBuf, config: LiveKitServerConfig, policy: Policy) -> Self {
        let port = config.port;
        Self::run(
            Program::livekit(binary, Source::Generated(config.to_yaml()), port),
            policy,
        )
    }

    pub fn run(program: Program, policy: Policy) -> Self {
        let (phase_tx, phase) = watch::channel(Phase::Starting);
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(program, policy, phase_tx, stop_rx));
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

    /// What `<program> --version` said, for the admin status.
    pub fn with_version(mut self, version: Option<String>) -> Self {
        self.version = version;
        self
    }

    /// The phase (and version) as the admin LiveKit status shows it.
    pub fn reporter(&self) -> impl Fn() -> serde_json::Value + Send + Sync + 'static {
        let w = self.watch();
        move || w.report()
    }

    /// A view of the phase that outlives a borrow (readiness checks, status closures).
    pub fn watch(&self) -> Watch {
        Watch {
            phase: self.phase.clone(),
            version: self.version.clone(),
        }
    }

    /// Waits until the phase satisfies `f` (tests, and `run` waiting for readiness).
    pub async fn wait_for(&mut self, f: impl Fn(&Phase) -> bool) -> Phase {
        let seen = self.phase.wait_for(|p| f(p)).await.map(|p| p.clone());
        seen.unwrap_or_else(|_| self.phase())
    }

    /// Stops the program gracefully and waits for the supervisor to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// A supervised program's phase and version, readable from anywhere.
#[derive(Clone)]
pub struct Watch {
    phase: watch::Receiver<Phase>,
    version: Option<String>,
}

impl Watch {
    pub fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    pub fn report(&self) -> serde_json::Value {
        let mut v = report(&self.phase.borrow());
        v["version"] = serde_json::json!(self.version);
        v
    }
}

async fn supervise(
    program: Program,
    policy: Policy,
    phase: watch::Sender<Phase>,
    mut stop: watch::Receiver<bool>,
) {
    let name = program.tool.name;
    let mut fast_crashes = 0u32;
    let mut last_lines: Arc<Mutex<VecDeque<String>>> = Arc::default();
    loop {
        if let Err(reason) = port_free(&program) {
            publish(
                &phase,
                name,
                Phase::GaveUp {
                    reason,
                    last_lines: Vec::new(),
                },
            );
            return;
        }
        let temp = match &program.config {
            Source::Generated(text) => match write_temp(program.kind, text) {
                Ok(t) => Some(t),
                Err(e) => {
                    let reason = format!("cannot write {name}'s config file: {e}");
                    give_up(&phase, name, reason, &last_lines);
                    return;
                }
            },
            Source::File(_) => None,
        };
        let path: &Path = match (&temp, &program.config) {
            (Some(t), _) => t,
            (None, Source::File(path)) => path,
            (None, Source::Generated(_)) => unreachable!("generated configs have a temp file"),
        };
        publish(&phase, name, Phase::Starting);
        let mut child = match spawn(&program, path, &last_lines) {
            Ok(c) => c,
            Err(e) => {
                let reason = format!("cannot start {}: {e}", program.binary.display());
                give_up(&phase, name, reason, &last_lines);
                return;
            }
        };
        let started = Instant::now();
        let exit = watch_child(&mut child, &program, &policy, &phase, &mut stop).await;
        drop(temp); // the config (it holds secrets) goes with the process
        let exit = match exit {
            Exit::Stopped => {
                terminate(&mut child, name, policy.grace).await;
                publish(&phase, name, Phase::Stopped);
                return;
            }
            Exit::Exited(how) => how,
            Exit::Unhealthy(why) => {
                terminate(&mut child, name, policy.grace).await;
                why
            }
        };
        if started.elapsed() < policy.fast {
            fast_crashes += 1;
        } else {
            fast_crashes = 0;
        }
        tracing::warn!(exit = %exit, fast_crashes, "{name} stopped");
        if fast_crashes >= policy.max_fast_crashes {
            let reason = format!(
                "{name} failed {fast_crashes} times in a row within {:?} of starting (last: {exit}); see its last lines",
                policy.fast
            );
            give_up(&phase, name, reason, &last_lines);
            return;
        }
        let delay = backoff(&policy, fast_crashes);
        publish(
            &phase,
            name,
            Phase::Restarting {
                attempt: fast_crashes,
                last_exit: exit,
            },
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {
                publish(&phase, name, Phase::Stopped);
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
    program: &Program,
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
        if program.probe.ready().await {
            break;
        }
        if Instant::now() > deadline {
            return Exit::Unhealthy(format!(
                "not ready within {:?} ({})",
                policy.ready_timeout,
                match program.probe {
                    Probe::Http { .. } => "GET / never answered 200",
                    Probe::Redis { .. } => "PING never answered PONG",
                }
            ));
        }
    }
    publish(
        phase,
        program.tool.name,
        Phase::Running {
            pid: child.id().unwrap_or_default(),
        },
    );
    let (name, port) = (program.tool.name, program.probe.port());
    tracing::info!(port, "{name} is ready");
    let mut failures = 0;
    loop {
        tokio::select! {
            status = child.wait() => return Exit::Exited(describe(status)),
            _ = stop.changed() => return Exit::Stopped,
            _ = tokio::time::sleep(policy.health_every) => {}
        }
        if program.probe.ready().await {
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
    program: &Program,
    config: &Path,
    lines: &Arc<Mutex<VecDeque<String>>>,
) -> std::io::Result<Child> {
    let mut cmd = Command::new(&program.binary);
    cmd.args(program.config_flag);
    let mut child = cmd
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let target = program.kind;
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
                tracing::info!(target: "child", program = target, "{line}");
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
async fn terminate(child: &mut Child, name: &str, grace: Duration) {
    if let Some(pid) = child.id() {
        // SAFETY: sending a signal to our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(grace, child.wait()).await.is_ok() {
            return;
        }
        tracing::warn!(pid, "{name} ignored SIGTERM; killing it");
    }
    let _ = child.kill().await;
}

fn give_up(
    phase: &watch::Sender<Phase>,
    name: &'static str,
    reason: String,
    lines: &Arc<Mutex<VecDeque<String>>>,
) {
    let last_lines: Vec<String> = lines.lock().expect("lines").iter().cloned().collect();
    tracing::error!(%reason, ?last_lines, "gave up on {name}");
    publish(phase, name, Phase::GaveUp { reason, last_lines });
}

/// Publishes a phase to its watchers and, when metrics are on, as the program's
/// `bedrud_supervised_phase` (1 for the current one) and `bedrud_supervised_restarts_total`.
fn publish(phase: &watch::Sender<Phase>, name: &'static str, now: Phase) {
    if bedrud_shared::metrics::enabled() {
        if matches!(now, Phase::Restarting { .. }) {
            metrics::counter!("bedrud_supervised_restarts_total", "program" => name).increment(1);
        }
        let current = report(&now)["state"].as_str().map(str::to_string);
        for state in ["starting", "running", "restarting", "gave_up", "stopped"] {
            let on = current.as_deref() == Some(state);
            metrics::gauge!("bedrud_supervised_phase", "program" => name, "phase" => state)
                .set(if on { 1.0 } else { 0.0 });
        }
    }
    let _ = phase.send(now);
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

/// The port must be free before the program takes it: a clear error beats its own.
fn port_free(program: &Program) -> Result<(), String> {
    let (port, name, key) = (program.probe.port(), program.tool.name, program.port_key);
    std::net::TcpListener::bind(("0.0.0.0", port))
        .map(drop)
        .map_err(|e| {
            format!(
                "port {port} is already in use ({e}): stop what holds it (another {name}?) or set {key}"
            )
        })
}

/// `PING` over RESP, after `AUTH` when there is a password: `Ok` on `+PONG`, else what the
/// server said or why nothing answered. Doctor checks an operator's Redis with it too.
pub async fn redis_ping(
    address: &str,
    username: Option<&str>,
    password: Option<&str>,
) -> Result<(), String> {
    fn command(parts: &[&str]) -> String {
        let mut out = format!("*{}\r\n", parts.len());
        for p in parts {
            out.push_str(&format!("${}\r\n{p}\r\n", p.len()));
        }
        out
    }
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| format!("cannot connect to {address}: {e}"))?;
        let mut request = match (username, password) {
            (Some(u), Some(p)) => command(&["AUTH", u, p]),
            (None, Some(p)) => command(&["AUTH", p]),
            _ => String::new(),
        };
        request.push_str(&command(&["PING"]));
        s.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some(err) = text.lines().find_map(|l| l.strip_prefix('-')) {
                return Err(format!("{address} answered: {err}"));
            }
            if text.contains("+PONG") {
                return Ok(());
            }
            if n == 0 {
                return Err(format!("{address} closed the connection: is it Redis?"));
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .unwrap_or_else(|_| Err(format!("{address} did not answer PING within 2 s")))
}

/// `GET /` on loopback: the status code, or `None` if nothing answered.
pub async fn health(port: u16) -> Option<u16> {
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

/// Finds a program: its config key's path, else its environment variable, else `PATH`.
pub fn find_binary(tool: &Tool, configured: Option<&Path>) -> Option<PathBuf> {
    let explicit = configured
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(tool.env).map(PathBuf::from));
    if let Some(p) = explicit {
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool.name))
        .find(|p| p.is_file())
}

/// `<program> --version` → its version: `livekit-server version 1.13.5` → `1.13.5`,
/// `Redis server v=7.0.15 sha=…` → `7.0.15`, `egress version v1.9.0` → `1.9.0`.
pub async fn version(binary: &Path) -> Option<String> {
    let out = Command::new(binary).arg("--version").output().await.ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .map(|w| w.trim_start_matches("v=").trim_start_matches('v'))
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_string)
}

/// Writes a program's config to `bedrud-<kind>-<our pid>-*.conf` in the system temp dir,
/// readable by this user only (it holds secrets). The file goes when the returned path
/// drops; the pid lets a later start remove files of processes that died.
pub fn write_temp(kind: &str, text: &str) -> std::io::Result<tempfile::TempPath> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix(&format!("bedrud-{kind}-{}-", std::process::id()))
        .suffix(".conf")
        .tempfile()?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    Ok(file.into_temp_path())
}

/// Removes `bedrud-<kind>-<pid>-*` config files left in `dir` by processes that are gone.
pub fn remove_stale_configs(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = ["livekit", "redis", "egress"]
            .iter()
            .find_map(|kind| name.strip_prefix(&format!("bedrud-{kind}-")))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        let ours = name.ends_with(".conf") || name.ends_with(".yaml");
        if !alive && ours && std::fs::remove_file(entry.path()).is_ok() {
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
