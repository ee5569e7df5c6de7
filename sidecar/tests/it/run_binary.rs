//! `bedrud run` as a user runs it: the real binary, port 0, no config, then SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bedrud_tests::Api;
use bedrud_tests::scenarios;
use serde_json::json;

pub(crate) struct Running {
    child: Child,
    pub(crate) url: String,
    pub(crate) log: mpsc::Receiver<String>,
    /// What it logged before naming its URL.
    pub(crate) early: Vec<String>,
}

/// Starts the binary in `dir` with `env`, and waits for the line that names its URL.
pub(crate) fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Running {
    start_with(dir, env, |_| {})
}

/// [`start`], with the command adjusted first (limits, umask).
fn start_with(
    dir: &std::path::Path,
    env: &[(&str, &str)],
    adjust: impl FnOnce(&mut Command),
) -> Running {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bedrud"));
    cmd.arg("run")
        .current_dir(dir)
        .env_remove("CONFIG_PATH")
        .env_remove("JWT_SECRET")
        .env_remove("RUST_LOG")
        // Readable lines, as on a terminal (the default off one is JSON).
        .env("LOG_FORMAT", "text")
        .env("SERVER_PORT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    adjust(&mut cmd);
    let mut child = cmd.spawn().expect("spawn bedrud");
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Owned by `Running` from here on, so every path (panics included) reaps it.
    let mut running = Running {
        child,
        url: String::new(),
        log: rx,
        early: Vec::new(),
    };
    let mut seen = Vec::new();
    loop {
        let line = running
            .log
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "bedrud did not announce its URL; log so far:\n{}",
                    seen.join("\n")
                )
            });
        if let Some(i) = line
            .find("listening on http://")
            .or_else(|| line.find("listening on https://"))
        {
            running.url = line[i + "listening on ".len()..]
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .unwrap()
                .to_string();
            running.early = seen;
            return running;
        }
        seen.push(line);
    }
}

impl Running {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit by itself; the exit status and the rest of the log.
    pub(crate) fn exited(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().expect("wait");
        std::thread::sleep(Duration::from_millis(50));
        (status, self.log.try_iter().collect())
    }

    /// SIGTERM, then the exit status and the rest of the log.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = self.child.wait().expect("wait");
        // The reader thread ends when the pipe closes; collect what it forwarded.
        std::thread::sleep(Duration::from_millis(50));
        (status, self.log.try_iter().collect())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (closed again: the process under test binds it).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An executable `dir/name` that runs `target` with `env` (`NAME='value' …`): each test's
/// fake gets its own behaviour without sharing the process environment.
pub(crate) fn wrapper(
    dir: &std::path::Path,
    name: &str,
    env: &str,
    target: &std::path::Path,
) -> std::path::PathBuf {
    let wrapper = dir.join(name);
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\n{env} exec '{}' \"$@\"\n", target.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// `bedrud run` in embedded mode over the fake `livekit-server` (its starts and signals
/// logged to `dir/fake.log`), once LiveKit is ready; returns it and LiveKit's port.
pub(crate) fn start_with_fake_livekit(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (Running, String) {
    let fake = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake/livekit-server");
    let fake_env = format!(
        "FAKE_LK=ok FAKE_LK_LOG='{}'",
        dir.join("fake.log").display()
    );
    let wrapper = wrapper(dir, "livekit-server", &fake_env, &fake);
    let port = free_port().to_string();
    let mut all = vec![
        ("LIVEKIT_BIN", wrapper.to_str().unwrap()),
        ("LIVEKIT_PORT", port.as_str()),
    ];
    all.extend_from_slice(env);
    let mut running = start(dir, &all);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("livekit-server is ready"))
    {
        let line = running
            .log
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("LiveKit never became ready: {seen:?}"));
        seen.push(line);
    }
    // What it said while LiveKit started counts as early too.
    running.early.extend(seen);
    (running, port)
}

#[tokio::test]
async fn run_with_no_config_serves_the_auth_flow_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), &[("RATELIMIT_AUTH_MAX", "0")]);
    assert!(
        running.url.starts_with("http://127.0.0.1:"),
        "{}",
        running.url
    );
    let api = Api::new(&running.url);
    api.get("/api/health", None).await.expect(200);
    api.get("/api/ready", None).await.expect(200);
    scenarios::auth_lifecycle(&api).await;
    scenarios::refresh_token_is_not_a_bearer(&api).await;
    scenarios::unknown_routes_are_json(&api).await;
    // Joins mint with the LiveKit key pair generated into data/dev-secrets.json.
    scenarios::room_lifecycle(&api).await;
    let email = scenarios::unique_email("persist");
    scenarios::register(&api, &email).await;

    let (status, log) = running.terminate();
    assert!(
        status.success(),
        "graceful exit, got {status}; log: {log:?}"
    );
    assert!(
        log.iter().any(|l| l.contains("shutdown signal received")),
        "{log:?}"
    );
    assert!(dir.path().join("data/bedrud.db").is_file());
    assert!(dir.path().join("data/dev-secrets.json").is_file());

    // A restart keeps accounts and the generated secret.
    let again = start(dir.path(), &[("RATELIMIT_AUTH_MAX", "0")]);
    let api = Api::new(&again.url);
    let (access, _) = scenarios::login(&api, &email).await;
    api.get("/api/auth/me", Some(&access)).await.expect(200);

    // The first admin: an account that signed up, promoted from the machine.
    api.get("/api/admin/livekit/status", Some(&access))
        .await
        .expect(403);
    let promote = |who: &str| {
        Command::new(env!("CARGO_BIN_EXE_bedrud"))
            .current_dir(dir.path())
            .args(["admin", "promote", "--email", who])
            .output()
            .unwrap()
    };
    let nobody = promote("nobody@example.com");
    assert_eq!(nobody.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("sign up first"));
    let done = promote(&email);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("is now an admin"));
    let (admin, _) = scenarios::login(&api, &email).await;
    api.get("/api/admin/livekit/status", Some(&admin))
        .await
        .expect(200);
    again.terminate();
}

#[tokio::test]
async fn rate_limit_from_environment_applies_per_client() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(
        dir.path(),
        &[
            ("RATELIMIT_AUTH_MAX", "2"),
            ("RATELIMIT_AUTH_WINDOW", "3600"),
        ],
    );
    let api = Api::new(&running.url);
    let body = json!({"email": "nobody@example.com", "password": scenarios::PASSWORD});
    api.post("/api/auth/login", None, &body).await.expect(401);
    api.post("/api/auth/login", None, &body).await.expect(401);
    api.post("/api/auth/login", None, &body).await.expect(429);
    running.terminate();
}

#[test]
fn bad_config_fails_fast_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.yaml"),
        "livekit:\n  apiKey: key\n  apiSecret: tooshort\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .args(["run", "--config", "config.yaml"])
        .current_dir(dir.path())
        .env("SERVER_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("bedrud: "))
        .expect("one plain error line");
    assert!(
        line.contains("livekit.apiSecret") && line.contains("LIVEKIT_API_SECRET"),
        "{line}"
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .args(["run", "--config", "nope.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.yaml"));
}

/// A guessable JWT secret stops the server at start, naming the key and how to make one.
#[test]
fn a_trivial_jwt_secret_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for secret in ["a".repeat(40), " ".repeat(48)] {
        let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
            .arg("run")
            .current_dir(dir.path())
            .env_remove("CONFIG_PATH")
            .env("SERVER_PORT", "0")
            .env("JWT_SECRET", &secret)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("auth.jwtSecret") && stderr.contains("openssl rand"),
            "{stderr}"
        );
    }
}

/// The database, its secrets and the recordings are readable by the server's user only (files
/// an earlier version left open are closed too), the open-file limit is raised to the hard
/// limit, and `RUST_LOG=debug` shows debug lines.
#[test]
fn private_files_raised_fd_limit_and_debug_logging() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("recordings/room")).unwrap();
    let old = data.join("recordings/room/old.mp4");
    std::fs::write(&old, b"meeting").unwrap();
    for (p, mode) in [(&data, 0o755), (&old, 0o644)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let running = start_with(dir.path(), &[("RUST_LOG", "debug")], |cmd| {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0o022);
                let mut lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
                lim.rlim_cur = lim.rlim_max.min(256);
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                Ok(())
            });
        }
    });
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&old), 0o600);
    assert_eq!(mode(&data.join("recordings")), 0o700);
    for f in ["bedrud.db", "dev-secrets.json"] {
        assert_eq!(mode(&data.join(f)), 0o600, "{f}");
    }
    let wal = data.join("bedrud.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", running.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        fields[3], fields[4],
        "soft limit raised to the hard one: {line}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = rt.block_on(async {
        let r = Api::new(&running.url)
            .get("/api/health", None)
            .await
            .expect(200);
        r.headers["x-request-id"].to_str().unwrap().to_string()
    });
    let debug = (0..200).find_map(|_| {
        running
            .log
            .recv_timeout(Duration::from_millis(100))
            .ok()
            .filter(|l| l.contains("DEBUG") && l.contains("/api/health"))
    });
    let line = debug.expect("RUST_LOG=debug shows the request line");
    assert!(
        line.contains(&id),
        "the line carries the request id {id}: {line}"
    );
    running.terminate();
}

/// `bedrud aws-init` creates the template's table on the emulator, and a second run is a no-op.
#[test]
fn aws_init_creates_the_table_idempotently() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the emulator the test command starts (bash .ci/test)"
    );
    let table = format!("bedrud-init-{}", std::process::id());
    let queue = format!("bedrud-rec-{}", std::process::id());
    let bucket = format!("bedrud-rec-{}", std::process::id());
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
            .args([
                "aws-init", "--table", &table, "--queue", &queue, "--bucket", &bucket,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("is ready"), "{said}");
        assert!(
            said.contains("QUEUE_URL=") && said.contains(&format!("{queue}.fifo")),
            "{said}"
        );
        assert!(said.contains(&format!("BUCKET_NAME={bucket}")), "{said}");
    }
}

/// Embedded mode: `bedrud run` finds `livekit-server` (here the fake, through LIVEKIT_BIN),
/// starts it with a generated config, waits for it to be ready, and on SIGTERM stops it too:
/// no orphan, no config file left behind.
#[test]
fn run_supervises_the_embedded_livekit_and_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fake.log");
    let (running, _) = start_with_fake_livekit(dir.path(), &[]);
    let started = std::fs::read_to_string(&log).unwrap();
    let (pid, config) = started
        .lines()
        .find_map(|l| l.strip_prefix("start "))
        .and_then(|l| l.split_once(' '))
        .map(|(p, c)| (p.parse::<i32>().unwrap(), std::path::PathBuf::from(c)))
        .unwrap();
    let yaml = std::fs::read_to_string(&config).unwrap();
    let bound = running.url.rsplit(':').next().unwrap();
    assert!(
        yaml.contains(&format!("http://127.0.0.1:{bound}/api/livekit/webhook")),
        "webhooks go to the port bedrud really listens on: {yaml}"
    );
    let (status, _) = running.terminate();
    assert!(status.success());
    assert!(std::fs::read_to_string(&log).unwrap().contains("SIGTERM"));
    // SAFETY: signal 0 only asks whether the process exists.
    assert!(
        unsafe { libc::kill(pid, 0) } != 0,
        "no orphan livekit-server"
    );
    assert!(!config.exists(), "no config file left behind");
}

/// Off a terminal (a service manager, a collector) the log is JSON lines by default, the
/// request id on the request's lines.
#[tokio::test]
async fn logs_are_json_lines_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_with(dir.path(), &[("RUST_LOG", "debug")], |cmd| {
        cmd.env_remove("LOG_FORMAT");
    });
    let r = Api::new(&running.url)
        .get("/api/health", None)
        .await
        .expect(200);
    let id = r.headers["x-request-id"].to_str().unwrap().to_string();
    let (_, log) = running.terminate();
    let lines: Vec<serde_json::Value> = log
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string())
    );
    assert!(
        lines
            .iter()
            .any(|l| l["span"]["id"] == id.as_str() && l["route"] == "/api/health"),
        "{lines:#?}"
    );
}
