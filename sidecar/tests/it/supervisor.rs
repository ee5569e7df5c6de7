//! The supervisor against a fake `livekit-server` (`tests/fake/livekit-server`): readiness
//! judged by `GET /`, restarts, giving up on a crash loop (a config error that exits 0
//! included), graceful stop and SIGKILL for one that ignores SIGTERM, no orphan, the temp
//! config removed, stale configs of dead processes removed, a taken port named. Outcomes are
//! asserted, never durations.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use bedrud_shared::config::Config;
use bedrud_sidecar::livekit_config::{Listening, generate};
use bedrud_sidecar::supervisor::{
    LIVEKIT, Phase, Policy, Supervisor, find_binary, remove_stale_configs, version,
};

fn fake() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fake/livekit-server")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn quick() -> Policy {
    Policy {
        ready_timeout: Duration::from_secs(20),
        health_every: Duration::from_millis(200),
        health_failures: 3,
        backoff: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        fast: Duration::from_secs(10),
        max_fast_crashes: 3,
        grace: Duration::from_millis(500),
    }
}

/// A generated config on a free port; the fake's behaviour goes in through the environment
/// (children inherit it), so every test uses its own variable values via `scenario`.
fn supervised(mode: &str, log: &std::path::Path, policy: Policy) -> (Supervisor, u16) {
    let port = free_port();
    let mut c = Config::default();
    c.livekit.api_key = Some("APIfake".into());
    c.livekit.api_secret = Some("fake-secret-0123456789abcdef01234567".into());
    c.livekit.port = port;
    let listening = Listening {
        ip: IpAddr::from([127, 0, 0, 1]),
        port: 8090,
    };
    let cfg = generate(&c, &listening, || None).unwrap();
    // One wrapper script per scenario, so parallel tests do not share environment.
    let env = format!("FAKE_LK='{mode}' FAKE_LK_LOG='{}'", log.display());
    let name = log.with_extension("sh");
    let wrapper = crate::run_binary::wrapper(
        log.parent().unwrap(),
        &name.file_name().unwrap().to_string_lossy(),
        &env,
        &fake(),
    );
    (Supervisor::start(wrapper, cfg, policy), port)
}

fn starts(log: &std::path::Path) -> Vec<(i32, PathBuf)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("start "))
        .map(|l| {
            let (pid, cfg) = l.split_once(' ').unwrap();
            (pid.parse().unwrap(), PathBuf::from(cfg))
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[tokio::test]
async fn ready_only_on_200_then_stopped_gracefully_without_traces() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("slow.log");
    let (sup, _) = supervised("slow:1", &log, quick());
    let mut sup = sup.with_version(version(&fake()).await);
    let phase = sup
        .wait_for(|p| matches!(p, Phase::Running { .. } | Phase::GaveUp { .. }))
        .await;
    let Phase::Running { pid } = phase else {
        panic!("{phase:?}");
    };
    let (started_pid, config) = starts(&log)[0].clone();
    assert_eq!(started_pid as u32, pid);
    let shown = sup.reporter()();
    assert_eq!(shown["state"], "running");
    assert_eq!(shown["pid"], pid);
    assert_eq!(shown["version"], "1.13.5");
    assert!(config.is_file(), "the config exists while LiveKit runs");
    sup.stop().await;
    assert!(!alive(started_pid), "no orphan");
    assert!(!config.exists(), "the config (with the secret) is gone");
    assert!(std::fs::read_to_string(&log).unwrap().contains("SIGTERM"));
}

#[tokio::test]
async fn a_crash_after_running_is_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("crash.log");
    let mut policy = quick();
    policy.fast = Duration::from_millis(100); // runs of ~1 s are not fast crashes
    let (mut sup, _) = supervised("crash:1", &log, policy);
    sup.wait_for(|p| matches!(p, Phase::Restarting { .. }))
        .await;
    sup.wait_for(|p| matches!(p, Phase::Running { .. })).await;
    assert!(starts(&log).len() >= 2, "started again");
    let Phase::Running { pid } = sup.phase() else {
        panic!("{:?}", sup.phase());
    };
    sup.stop().await;
    assert!(!alive(pid as i32));
    for (_, cfg) in starts(&log) {
        assert!(!cfg.exists(), "every run's config removed");
    }
}

#[tokio::test]
async fn a_config_error_that_exits_0_is_a_crash_loop_and_gives_up_with_its_words() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("exit0.log");
    let (mut sup, _) = supervised("exit0", &log, quick());
    let phase = sup.wait_for(|p| matches!(p, Phase::GaveUp { .. })).await;
    let Phase::GaveUp { reason, last_lines } = phase else {
        unreachable!()
    };
    assert!(reason.contains("3 times in a row"), "{reason}");
    assert!(
        last_lines
            .iter()
            .any(|l| l.contains("could not parse config")),
        "{last_lines:?}"
    );
    assert_eq!(starts(&log).len(), 3);
    let shown = sup.reporter()();
    assert_eq!(shown["state"], "gave_up");
    assert!(
        shown["lastLines"]
            .to_string()
            .contains("could not parse config")
    );
    sup.stop().await;
}

#[tokio::test]
async fn one_that_ignores_sigterm_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stubborn.log");
    let (mut sup, _) = supervised("ignore-term", &log, quick());
    sup.wait_for(|p| matches!(p, Phase::Running { .. })).await;
    let (pid, _) = starts(&log)[0].clone();
    sup.stop().await;
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("ignored SIGTERM")
    );
    assert!(!alive(pid), "killed after the grace period");
}

#[tokio::test]
async fn a_taken_port_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("port.log");
    let holder = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let mut c = Config::default();
    c.livekit.api_key = Some("APIfake".into());
    c.livekit.api_secret = Some("fake-secret-0123456789abcdef01234567".into());
    c.livekit.port = port;
    let listening = Listening {
        ip: IpAddr::from([127, 0, 0, 1]),
        port: 8090,
    };
    let cfg = generate(&c, &listening, || None).unwrap();
    let mut sup = Supervisor::start(fake(), cfg, quick());
    let phase = sup.wait_for(|p| matches!(p, Phase::GaveUp { .. })).await;
    let Phase::GaveUp { reason, .. } = phase else {
        unreachable!()
    };
    assert!(
        reason.contains(&format!("port {port} is already in use")),
        "{reason}"
    );
    assert!(reason.contains("livekit.port"), "{reason}");
    assert!(starts(&log).is_empty(), "never started");
    sup.stop().await;
}

#[tokio::test]
async fn binary_discovery_version_and_stale_files() {
    assert_eq!(find_binary(&LIVEKIT, Some(&fake())), Some(fake()));
    assert_eq!(
        find_binary(
            &LIVEKIT,
            Some(std::path::Path::new("/nonexistent/livekit-server"))
        ),
        None
    );
    assert_eq!(version(&fake()).await.as_deref(), Some("1.13.5"));

    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("bedrud-livekit-999999999-abc.yaml");
    let mine = dir
        .path()
        .join(format!("bedrud-livekit-{}-def.yaml", std::process::id()));
    let dead_redis = dir.path().join("bedrud-redis-999999999-ghi.conf");
    let other = dir.path().join("unrelated.yaml");
    for f in [&dead, &mine, &dead_redis, &other] {
        std::fs::write(f, "port: 1\n").unwrap();
    }
    assert_eq!(remove_stale_configs(dir.path()), 2);
    assert!(!dead.exists() && !dead_redis.exists() && mine.exists() && other.exists());
}
