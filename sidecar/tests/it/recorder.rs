//! Recording on the embedded LiveKit: a real `redis-server` (Debian's package) supervised in a
//! temp dir, the fake egress worker (`tests/fake/egress`, which connects to that Redis as the
//! real one does), the generated configs, the 503 when a worker is missing, and a recording
//! end to end through `bedrud run` with the LiveKit double taking the egress calls.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bedrud_shared::config::Config;
use bedrud_sidecar::recorder::{RedisPlan, egress_config};
use bedrud_sidecar::supervisor::{Phase, Policy, REDIS, Supervisor, find_binary, redis_ping};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::{Api, TEST_LK_KEY, TEST_LK_SECRET, people, scenarios};
use livekit_protocol as proto;
use serde_json::json;

use crate::run_binary::{free_port, start, start_with_fake_livekit};

/// The supervisor tests' quick policy; Redis's kill-and-restart is no fast crash.
fn quick() -> Policy {
    Policy {
        fast: Duration::from_millis(200),
        grace: Duration::from_secs(5),
        ..crate::supervisor::quick()
    }
}

fn config(data: &Path) -> Config {
    let mut c = Config::default();
    c.livekit.api_key = Some("APIrec".into());
    c.livekit.api_secret = Some("rec-secret-0123456789abcdef0123456789".into());
    c.database.path = data.join("bedrud.db");
    c.recordings.enabled = true;
    c.redis.port = free_port();
    c
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// The Redis configs this test process has written (Redis rewrites its command line, so the
/// file is found by its name: `bedrud-redis-<pid>-*`).
fn redis_configs() -> Vec<PathBuf> {
    let prefix = format!("bedrud-redis-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}

fn redis_installed() {
    assert!(
        find_binary(&REDIS, None).is_some(),
        "redis-server is needed (the test command installs Debian's redis-server package)"
    );
}

#[tokio::test]
async fn redis_is_ready_on_pong_restarted_after_kill_and_stopped_clean() {
    redis_installed();
    let data = tempfile::tempdir().unwrap();
    let c = config(data.path());
    let RedisPlan::Local {
        program,
        block,
        dir,
    } = RedisPlan::new(&c, true).unwrap()
    else {
        panic!("a local redis-server");
    };
    assert_eq!(dir, std::path::absolute(data.path().join("redis")).unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let password = block.password.clone().unwrap();
    assert_eq!(password.len(), 48);
    assert_eq!(block.address, format!("127.0.0.1:{}", c.redis.port));

    let mut sup = Supervisor::run(program, quick());
    let Phase::Running { pid } = sup
        .wait_for(|p| matches!(p, Phase::Running { .. } | Phase::GaveUp { .. }))
        .await
    else {
        panic!("{:?}", sup.phase());
    };
    redis_ping(&block.address, None, Some(&password))
        .await
        .unwrap();
    let refused = redis_ping(&block.address, None, Some("wrong"))
        .await
        .unwrap_err();
    assert!(refused.contains("WRONGPASS"), "{refused}");
    let unauthenticated = redis_ping(&block.address, None, None).await.unwrap_err();
    assert!(unauthenticated.contains("NOAUTH"), "{unauthenticated}");
    let [conf] = redis_configs().try_into().unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds the password");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("bind 127.0.0.1\n"), "{text}");
    assert!(
        text.contains(&format!("dir \"{}\"", dir.display())),
        "{text}"
    );

    // SAFETY: killing the child under test.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    sup.wait_for(|p| matches!(p, Phase::Restarting { .. }))
        .await;
    let Phase::Running { pid: again } = sup
        .wait_for(|p| matches!(p, Phase::Running { .. } | Phase::GaveUp { .. }))
        .await
    else {
        panic!("{:?}", sup.phase());
    };
    assert_ne!(again, pid);
    redis_ping(&block.address, None, Some(&password))
        .await
        .unwrap();
    let shown = sup.reporter()();
    assert_eq!(shown["state"], "running");
    assert!(!conf.exists(), "the first run's config went with it");
    assert_eq!(redis_configs().len(), 1);
    sup.stop().await;
    assert!(!alive(again as i32), "no orphan redis-server");
    assert!(
        redis_configs().is_empty(),
        "its config (with the password) is gone"
    );
}

#[tokio::test]
async fn a_taken_redis_port_is_named_with_its_key() {
    redis_installed();
    let data = tempfile::tempdir().unwrap();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = config(data.path());
    c.redis.port = holder.local_addr().unwrap().port();
    let RedisPlan::Local { program, dir, .. } = RedisPlan::new(&c, true).unwrap() else {
        panic!("a local redis-server");
    };
    std::fs::create_dir_all(dir).unwrap();
    let mut sup = Supervisor::run(program, quick());
    let Phase::GaveUp { reason, .. } = sup.wait_for(|p| matches!(p, Phase::GaveUp { .. })).await
    else {
        unreachable!()
    };
    assert!(reason.contains("already in use"), "{reason}");
    assert!(reason.contains("redis.port"), "{reason}");
    sup.stop().await;
}

/// Egress's config carries exactly keys the worker reads (`livekit/egress`
/// `config.ServiceConfig`), the same Redis as LiveKit's, and the bucket when there is one.
#[test]
fn the_egress_config_has_egress_keys_and_the_shared_redis() {
    let data = tempfile::tempdir().unwrap();
    let mut c = config(data.path());
    c.livekit.port = 7890;
    c.egress.health_port = 7999;
    let plan = RedisPlan::new(&c, true).unwrap();
    let redis = plan.block().cloned().unwrap();
    let yaml = egress_config(&c, redis.clone()).unwrap().to_yaml();
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    let known = [
        "api_key",
        "api_secret",
        "ws_url",
        "redis",
        "health_port",
        "prometheus_port",
        "logging",
        "insecure",
        "s3",
    ];
    for (k, _) in v.as_mapping().unwrap() {
        assert!(known.contains(&k.as_str().unwrap()), "{k:?} in {yaml}");
    }
    assert_eq!(v["api_key"].as_str(), Some("APIrec"));
    assert_eq!(v["ws_url"].as_str(), Some("ws://127.0.0.1:7890"));
    assert_eq!(v["health_port"].as_u64(), Some(7999));
    assert_eq!(v["redis"]["address"].as_str(), Some(redis.address.as_str()));
    assert_eq!(v["redis"]["password"].as_str(), redis.password.as_deref());
    assert!(
        v.get("s3").is_none(),
        "files go to the recordings directory"
    );

    c.recordings.bucket = Some("recs".into());
    c.recordings.region = Some("eu-west-1".into());
    c.recordings.endpoint = Some("http://127.0.0.1:9000".into());
    c.recordings.force_path_style = true;
    c.egress.prometheus_port = 9102;
    let v: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&egress_config(&c, redis).unwrap().to_yaml()).unwrap();
    assert_eq!(v["s3"]["bucket"].as_str(), Some("recs"));
    assert_eq!(v["s3"]["region"].as_str(), Some("eu-west-1"));
    assert_eq!(v["s3"]["force_path_style"].as_bool(), Some(true));
    assert_eq!(v["prometheus_port"].as_u64(), Some(9102));
}

/// `bedrud livekit-config --egress` prints the egress worker's config; LiveKit's names the
/// same Redis; without recordings there is nothing to print, and it says why.
#[test]
fn the_command_prints_both_generated_files() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bedrud"));
        cmd.current_dir(dir.path()).arg("livekit-config").args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let on = [("RECORDINGS_ENABLED", "true"), ("REDIS_PORT", "6391")];
    let egress = run(&["--egress"], &on);
    assert!(
        egress.status.success(),
        "{}",
        String::from_utf8_lossy(&egress.stderr)
    );
    let e: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&egress.stdout).unwrap();
    let livekit = run(&[], &on);
    let l: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&livekit.stdout).unwrap();
    assert_eq!(e["redis"]["address"].as_str(), Some("127.0.0.1:6391"));
    assert_eq!(l["redis"], e["redis"], "one Redis for both");
    assert_eq!(e["health_port"].as_u64(), Some(7982), "the default");
    assert_eq!(
        l["keys"][e["api_key"].as_str().unwrap()].as_str(),
        e["api_secret"].as_str(),
        "egress signs with LiveKit's key pair"
    );
    let plain: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&run(&[], &[]).stdout).unwrap();
    assert!(
        plain.get("redis").is_none(),
        "no recordings, no redis: block"
    );
    let off = run(&["--egress"], &[]);
    assert_eq!(off.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&off.stderr).contains("recordings.enabled"),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
}

fn fake_egress(dir: &Path) -> PathBuf {
    let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake/egress");
    let env = format!("FAKE_EGRESS_LOG='{}'", dir.join("egress.log").display());
    crate::run_binary::wrapper(dir, "egress", &env, &fake)
}

/// The pids of a process's children (LiveKit, Redis, egress under `bedrud run`).
fn children(parent: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`; comm may hold spaces, so count from the last ')'.
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        if after.split(' ').nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// A `recording/start` and what it was made from.
struct Attempt {
    /// `/api/rooms/{id}`.
    room: String,
    token: String,
    reply: bedrud_tests::Reply,
}

/// The user's side of a recording: an account, a room with recordings allowed, someone in
/// the meeting (when there is a LiveKit double), then `recording/start`.
async fn start_recording(api: &Api, lk: Option<&LiveKitDouble>) -> Attempt {
    let owner = people::user(api).await;
    let room = people::room(
        api,
        &owner,
        json!({"isPublic": true, "settings": {"recordingsAllowed": true}}),
    )
    .await;
    if let Some(lk) = lk {
        lk.connect(
            &bedrud_tests::livekit_room(&room),
            &owner.id,
            &[proto::TrackSource::Camera],
        );
    }
    let room = format!("/api/rooms/{}", room["id"].as_str().unwrap());
    let reply = api
        .post(
            &format!("{room}/recording/start"),
            owner.bearer(),
            &json!({}),
        )
        .await;
    Attempt {
        room,
        token: owner.token,
        reply,
    }
}

/// Whatever is missing is said at start with the keys, and `recording/start` answers 503
/// with the same words instead of LiveKit's "permission denied".
#[tokio::test]
async fn a_missing_worker_is_named_at_start_and_answered_503() {
    redis_installed();
    let cases = [
        (
            vec![("REDIS_BIN", "/nonexistent/redis-server")],
            "recording needs Redis",
            "REDIS_BIN",
        ),
        (
            vec![("EGRESS_BIN", "/nonexistent/egress")],
            "recording needs LiveKit Egress",
            "EGRESS_BIN",
        ),
    ];
    for (env, words, key) in cases {
        let dir = tempfile::tempdir().unwrap();
        let redis_port = free_port().to_string();
        let mut all = vec![
            ("RECORDINGS_ENABLED", "true"),
            ("REDIS_PORT", redis_port.as_str()),
        ];
        all.extend(env);
        let (running, _) = start_with_fake_livekit(dir.path(), &all);
        assert!(
            running
                .early
                .iter()
                .any(|l| l.contains(words) && l.contains(key)),
            "{:?}",
            running.early
        );
        let api = Api::new(&running.url);
        let r = start_recording(&api, None).await.reply;
        assert_eq!(r.status, 503, "{}", r.raw);
        assert!(r.error().starts_with(words), "{}", r.raw);
        assert!(r.error().contains(key), "{}", r.raw);
        running.terminate();
    }
}

/// An egress config file that does not exist stops the start with one line naming the key.
#[test]
fn a_missing_egress_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let lk = dir.path().join("livekit-server");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake/livekit-server"),
        &lk,
    )
    .unwrap();
    let egress = fake_egress(dir.path());
    let lk_port = free_port().to_string();
    let running = start(
        dir.path(),
        &[
            ("LIVEKIT_BIN", lk.to_str().unwrap()),
            ("LIVEKIT_PORT", lk_port.as_str()),
            ("RECORDINGS_ENABLED", "true"),
            ("REDIS_ADDRESS", "127.0.0.1:1"),
            ("EGRESS_BIN", egress.to_str().unwrap()),
            ("EGRESS_CONFIG_PATH", "/nonexistent/egress.yaml"),
        ],
    );
    let (status, lines) = running.exited();
    assert_eq!(status.code(), Some(2), "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("egress.configPath") && l.contains("/nonexistent/egress.yaml")),
        "{lines:?}"
    );
}

/// `bedrud run` with recordings on starts Redis, then LiveKit with Redis in its config, then
/// the egress worker on the same Redis; a recording goes start → egress webhooks → the
/// processing job → completed; on SIGTERM every child stops and every config file goes.
#[tokio::test]
async fn run_records_with_redis_and_egress_supervised() {
    redis_installed();
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let dir = tempfile::tempdir().unwrap();
    let egress = fake_egress(dir.path());
    let (redis_port, health_port) = (free_port().to_string(), free_port().to_string());
    let metrics = format!("127.0.0.1:{}", free_port());
    let lk_metrics = free_port().to_string();
    let (running, lk_port) = start_with_fake_livekit(
        dir.path(),
        &[
            ("RECORDINGS_ENABLED", "true"),
            ("REDIS_PORT", redis_port.as_str()),
            ("EGRESS_BIN", egress.to_str().unwrap()),
            ("EGRESS_HEALTH_PORT", health_port.as_str()),
            ("LIVEKIT_API_KEY", TEST_LK_KEY),
            ("LIVEKIT_API_SECRET", TEST_LK_SECRET),
            ("LIVEKIT_INTERNAL_HOST", lk.url.as_str()),
            ("LIVEKIT_PROMETHEUS_PORT", lk_metrics.as_str()),
            ("METRICS_ENABLED", "true"),
            ("METRICS_LISTEN", metrics.as_str()),
        ],
    );
    let said = running.early.join("\n");
    assert!(said.contains("redis-server is ready"), "{said}");
    // LiveKit was started after Redis answered, with its address and password.
    let lk_config = std::fs::read_to_string(dir.path().join("fake.log"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("start "))
        .map(|l| PathBuf::from(l.split_once(' ').unwrap().1))
        .unwrap();
    let l: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&lk_config).unwrap()).unwrap();
    assert_eq!(
        l["redis"]["address"].as_str(),
        Some(format!("127.0.0.1:{redis_port}").as_str())
    );
    assert_eq!(
        l["prometheus_port"].as_u64(),
        Some(lk_metrics.parse().unwrap()),
        "livekit.prometheusPort reaches LiveKit"
    );
    // The egress worker (which PINGs that Redis with that password before serving) is up.
    let api = Api::new(&running.url);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while bedrud_sidecar::supervisor::health(health_port.parse().unwrap()).await != Some(200) {
        assert!(std::time::Instant::now() < deadline, "egress never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let egress_log = std::fs::read_to_string(dir.path().join("egress.log")).unwrap();
    let (egress_pid, egress_config) = egress_log
        .lines()
        .find_map(|l| l.strip_prefix("start "))
        .and_then(|l| l.split_once(' '))
        .map(|(p, c)| (p.parse::<i32>().unwrap(), PathBuf::from(c)))
        .unwrap();
    let e: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&egress_config).unwrap()).unwrap();
    assert_eq!(e["redis"], l["redis"]);
    assert_eq!(
        e["ws_url"].as_str(),
        Some(format!("ws://127.0.0.1:{lk_port}").as_str())
    );

    // A recording, end to end, once the workers are up (the gate may see egress starting).
    let attempt = loop {
        let attempt = start_recording(&api, Some(&lk)).await;
        if attempt.reply.status != 503 || std::time::Instant::now() > deadline {
            break attempt;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let r = &attempt.reply;
    assert_eq!(r.status, 201, "{}", r.raw);
    let rid = r.body["id"].as_str().unwrap().to_string();
    let info = lk.egresses().pop().unwrap();
    let Some(proto::egress_info::Request::RoomComposite(req)) = &info.request else {
        panic!("room composite egress");
    };
    let path = PathBuf::from(&req.file_outputs[0].filepath);
    assert!(path.starts_with(dir.path()), "{path:?}");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"an mp4, as far as this test cares").unwrap();
    let webhook = format!("{}/api/livekit/webhook", running.url);
    for (n, (event, status)) in [
        ("egress_started", proto::EgressStatus::EgressActive),
        ("egress_ended", proto::EgressStatus::EgressComplete),
    ]
    .into_iter()
    .enumerate()
    {
        let mut i = info.clone();
        i.status = status as i32;
        i.started_at = 1_795_471_230_000_000_000;
        if status == proto::EgressStatus::EgressComplete {
            i.ended_at = 1_795_471_290_000_000_000;
            i.file_results = vec![proto::FileInfo {
                filename: path.to_string_lossy().into(),
                location: path.to_string_lossy().into(),
                size: 33,
                ..Default::default()
            }];
        }
        let e = proto::WebhookEvent {
            event: event.into(),
            id: format!("EV_embedded_{n}"),
            created_at: bedrud_shared::domain::now(),
            egress_info: Some(i),
            ..Default::default()
        };
        assert_eq!(lk.send_webhook(&webhook, &e).await.status(), 200);
    }
    let status = loop {
        let r = api
            .get(
                &format!("{}/recordings/{rid}", attempt.room),
                Some(&attempt.token),
            )
            .await;
        let status = r.body["status"].as_str().unwrap_or_default().to_string();
        if status == "completed" || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "completed", "the embedded job worker processed it");

    // The admin LiveKit status shows Redis and egress beside LiveKit.
    let email = scenarios::unique_email("recadmin");
    scenarios::register(&api, &email).await;
    let promoted = std::process::Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .current_dir(dir.path())
        .args(["admin", "promote", "--email", &email])
        .output()
        .unwrap();
    assert!(promoted.status.success());
    let (admin, _) = scenarios::login(&api, &email).await;
    let st = api
        .get("/api/admin/livekit/status", Some(&admin))
        .await
        .expect(200);
    let sup = &st.body["supervisor"];
    assert_eq!(sup["state"], "running", "{}", st.raw);
    assert_eq!(sup["redis"]["state"], "running", "{}", st.raw);
    assert!(sup["redis"]["version"].as_str().unwrap().contains('.'));
    assert_eq!(sup["egress"]["state"], "running", "{}", st.raw);
    assert_eq!(sup["egress"]["version"], "1.9.0");

    // Every supervised program's phase, in /metrics.
    let text = reqwest::get(format!("http://{metrics}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples = crate::metrics::parse(&text);
    for program in ["livekit-server", "redis-server", "egress"] {
        assert_eq!(
            crate::metrics::value(
                &samples,
                "bedrud_supervised_phase",
                &[("program", program), ("phase", "running")]
            ),
            1.0,
            "{program}: {text}"
        );
    }
    assert!(
        crate::metrics::value(
            &samples,
            "bedrud_livekit_calls_total",
            &[("method", "StartRoomCompositeEgress"), ("outcome", "ok")]
        ) >= 1.0,
        "LiveKit calls by method and outcome"
    );
    assert!(
        crate::metrics::value(
            &samples,
            "bedrud_job_attempts_total",
            &[("kind", "process_recording"), ("outcome", "done")]
        ) >= 1.0
    );

    let kids = children(running.pid());
    assert!(kids.len() >= 3, "LiveKit, Redis and egress: {kids:?}");
    let (status, _) = running.terminate();
    assert!(status.success());
    for pid in kids.into_iter().chain([egress_pid]) {
        assert!(!alive(pid), "no orphan (pid {pid})");
    }
    assert!(
        !egress_config.exists() && !lk_config.exists(),
        "no config left"
    );
    assert!(egress_log_has_sigterm(dir.path()));
}

fn egress_log_has_sigterm(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("egress.log"))
        .unwrap()
        .contains("SIGTERM")
}
