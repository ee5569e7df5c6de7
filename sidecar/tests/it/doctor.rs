//! `bedrud doctor`: each check finds what it should, with symptom, cause and fix, and the
//! exit code says whether anything failed.

use std::path::PathBuf;
use std::process::Command;

use bedrud_shared::config::Config;
use bedrud_sidecar::doctor::{Finding, Level, examine};
use bedrud_tests::livekit_double::LiveKitDouble;

use crate::run_binary::free_port;

fn fake() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fake/livekit-server")
}

fn config() -> Config {
    let mut c = Config::default();
    c.livekit.api_key = Some("APIdoctor".into());
    c.livekit.api_secret = Some("doctor-secret-0123456789abcdef012345".into());
    c.livekit.binary_path = Some(fake());
    c.livekit.port = free_port();
    c.server.port = free_port();
    // The settings check opens the store: never the working directory's.
    c.database.path = std::env::temp_dir()
        .join(format!("bedrud-doctor-{}", std::process::id()))
        .join("bedrud.db");
    c
}

fn find<'a>(all: &'a [Finding], check: &str, level: Level) -> Option<&'a Finding> {
    all.iter().find(|f| f.check == check && f.level == level)
}

#[tokio::test]
async fn embedded_binary_ports_and_secret() {
    let c = config();
    let all = examine(&c).await;
    let bin = find(&all, "livekit-server", Level::Ok).expect("binary found");
    assert!(bin.symptom.contains("1.13.5"), "{bin:?}");
    assert!(find(&all, "api secret", Level::Ok).is_some());
    assert!(
        all.iter()
            .filter(|f| f.check == "port")
            .any(|f| f.level == Level::Ok && f.symptom.contains(&c.livekit.port.to_string()))
    );

    let mut missing = c.clone();
    missing.livekit.binary_path = Some("/nonexistent/livekit-server".into());
    let f = examine(&missing).await;
    let f = find(&f, "livekit-server", Level::Fail).unwrap();
    assert!(f.fix.contains("livekit.external"), "{f:?}");

    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("livekit-server");
    std::fs::copy(fake(), &plain).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut not_exec = c.clone();
    not_exec.livekit.binary_path = Some(plain);
    let f = examine(&not_exec).await;
    assert!(
        find(&f, "livekit-server", Level::Fail)
            .unwrap()
            .fix
            .starts_with("chmod +x")
    );

    let holder = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let mut busy = c.clone();
    busy.livekit.port = holder.local_addr().unwrap().port();
    let f = examine(&busy).await;
    let f = find(&f, "port", Level::Fail).unwrap();
    assert!(f.cause.contains(&busy.livekit.port.to_string()), "{f:?}");

    let mut short = c.clone();
    short.livekit.api_secret = Some("short".into());
    let f = examine(&short).await;
    assert!(
        find(&f, "api secret", Level::Fail)
            .unwrap()
            .cause
            .contains("5 characters")
    );
}

#[tokio::test]
async fn hosts_schemes_and_tls_expectations() {
    let mut c = config();
    c.livekit.host = "https://livekit.example.com".into();
    c.livekit.internal_host = Some("livekit.internal:7880".into());
    let f = examine(&c).await;
    assert!(find(&f, "livekit.host", Level::Fail).is_some());
    assert!(find(&f, "livekit.internalHost", Level::Fail).is_some());
    c.livekit.host = "ws://livekit.example.com".into();
    c.livekit.internal_host = None;
    c.server.enable_tls = true;
    let f = examine(&c).await;
    let w = find(&f, "livekit.host", Level::Warn).unwrap();
    assert!(w.symptom.contains("mixed content"), "{w:?}");
}

#[tokio::test]
async fn external_livekit_reachable_or_not() {
    let lk = LiveKitDouble::start("APIdoctor", "doctor-secret-0123456789abcdef012345").await;
    let mut c = config();
    c.livekit.external = true;
    c.livekit.internal_host = Some(lk.url.clone());
    let f = examine(&c).await;
    assert!(find(&f, "internalHost", Level::Ok).is_some(), "{f:?}");
    assert!(
        f.iter().all(|x| x.check != "livekit-server"),
        "no binary needed"
    );
    c.recordings.enabled = true;
    let f = examine(&c).await;
    assert!(
        find(&f, "recordings", Level::Fail)
            .unwrap()
            .fix
            .contains("BUCKET_NAME")
    );
    c.recordings.bucket = Some("recordings".into());
    assert!(find(&examine(&c).await, "recordings", Level::Fail).is_none());
    c.livekit.internal_host = Some(format!("http://127.0.0.1:{}", free_port()));
    let f = examine(&c).await;
    let down = find(&f, "internalHost", Level::Fail).unwrap();
    assert!(down.symptom.contains("LiveKit disconnected"), "{down:?}");
}

#[tokio::test]
async fn static_livekit_yaml_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.recordings.enabled = true;
    let check = |yaml: &str| {
        let path = dir.path().join(format!("lk-{}.yaml", yaml.len()));
        std::fs::write(&path, yaml).unwrap();
        let mut c = c.clone();
        c.livekit.config_path = Some(path);
        async move { examine(&c).await }
    };
    let good = format!(
        "port: 7880\nredis:\n  address: 127.0.0.1:6379\nwebhook:\n  api_key: APIdoctor\n  urls:\n  - http://127.0.0.1:{}/api/livekit/webhook\n",
        c.server.port
    );
    let f = check(&good).await;
    assert!(find(&f, "static config", Level::Ok).is_some(), "{f:?}");
    let f = check(&format!("{good}tls:\n  cert_file: x\n")).await;
    assert!(
        find(&f, "static config", Level::Fail)
            .unwrap()
            .cause
            .contains("`tls:`")
    );
    let f = check(&format!("{good}turn:\n  enabled: true\n  tls_port: 5349\n")).await;
    assert!(
        find(&f, "static config", Level::Fail)
            .unwrap()
            .symptom
            .contains("TURN domain")
    );
    let f = check(&format!("{good}rtc:\n  use_external_ip: true\n")).await;
    assert!(
        find(&f, "static config", Level::Warn)
            .unwrap()
            .fix
            .contains("node_ip")
    );
    let f = check("port: 7880\nredis: {}\n").await;
    assert!(
        find(&f, "static config", Level::Warn)
            .unwrap()
            .cause
            .contains("no `webhook:`")
    );
    let f = check(&good.replace("redis:\n  address: 127.0.0.1:6379\n", "")).await;
    assert!(
        find(&f, "static config", Level::Warn)
            .unwrap()
            .cause
            .contains("redis")
    );
    let f = check("port: [unclosed\n").await;
    assert!(find(&f, "livekit.configPath", Level::Fail).is_some());
}

#[test]
fn the_command_prints_findings_and_fails_on_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .current_dir(dir.path())
        .arg("doctor")
        .env("LIVEKIT_EXTERNAL", "true")
        .env("LIVEKIT_HOST", format!("ws://127.0.0.1:{}", free_port()))
        .env("LIVEKIT_API_KEY", "APIdoctor")
        .env("LIVEKIT_API_SECRET", "doctor-secret-0123456789abcdef012345")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL internalHost"), "{text}");
    assert!(text.contains("cause:") && text.contains("fix:"), "{text}");
    assert!(text.contains("ok   api secret"), "{text}");
}

/// Each runtime setting is shown with its value and where it comes from: the config file
/// until an admin stores another value, the store after.
#[tokio::test]
async fn settings_show_their_source() {
    use bedrud_shared::domain::Incoming;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config();
    c.database.path = dir.path().join("bedrud.db");
    c.server.name = "From The File".into();
    let all = examine(&c).await;
    let name = all
        .iter()
        .find(|f| f.check == "setting" && f.symptom.starts_with("serverName"))
        .expect("serverName shown");
    assert_eq!(
        name.symptom,
        r#"serverName = "From The File" (config file)"#
    );

    let (stores, _) = bedrud_shared::runtime::open_stores(&c).await.unwrap();
    let settings = bedrud_shared::settings::Settings::new(stores.settings.clone(), &c);
    let change = [("serverName".to_string(), Incoming::Text("Acme Meet".into()))];
    settings.update(&change).await.unwrap();
    let all = examine(&c).await;
    let shown: Vec<&str> = all
        .iter()
        .filter(|f| f.check == "setting")
        .map(|f| f.symptom.as_str())
        .collect();
    assert!(
        shown.contains(&r#"serverName = "Acme Meet" (stored by an admin)"#),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"registrationEnabled = true (config file)"),
        "{shown:?}"
    );
}

/// Recordings on the embedded LiveKit: Redis (a real one, started here the way `bedrud run`
/// does) answers PING, the egress worker is installed with its version and answers its
/// health port, the recordings directory takes files; each missing piece is a finding with
/// its fix.
#[tokio::test]
async fn recording_redis_egress_and_the_recordings_directory() {
    use bedrud_sidecar::recorder::Workers;
    use bedrud_sidecar::supervisor::Policy;
    let data = tempfile::tempdir().unwrap();
    let mut c = config();
    c.recordings.enabled = true;
    c.recordings.dir = data.path().join("recordings");
    c.database.path = data.path().join("bedrud.db");
    c.redis.port = free_port();
    c.egress.binary_path =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fake/egress"));
    c.egress.health_port = free_port();

    // Before `bedrud run`: installed, not answering yet (a warning, not a failure).
    let all = examine(&c).await;
    let redis = find(&all, "redis-server", Level::Ok).expect("redis-server found");
    assert!(redis.symptom.contains("version"), "{redis:?}");
    let ping = find(&all, "redis", Level::Warn).expect("not running yet");
    assert!(ping.cause.contains("cannot connect"), "{ping:?}");
    assert!(find(&all, "livekit redis", Level::Ok).is_some());
    let egress = find(&all, "egress", Level::Ok).expect("egress found");
    assert!(egress.symptom.contains("1.9.0"), "{egress:?}");
    assert!(find(&all, "egress health", Level::Warn).is_some());
    let dir = find(&all, "recordings dir", Level::Ok).expect("writable");
    assert!(dir.symptom.contains("GiB free"), "{dir:?}");

    // With the workers up, both answer.
    let policy = Policy::default();
    let workers = Workers::start(&c, true, &policy).await.unwrap().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let all = loop {
        let all = examine(&c).await;
        if find(&all, "egress health", Level::Ok).is_some() || std::time::Instant::now() > deadline
        {
            break all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(find(&all, "redis", Level::Ok).is_some(), "{all:?}");
    assert!(find(&all, "egress health", Level::Ok).is_some(), "{all:?}");
    assert!(
        !all.iter().any(|f| f.check == "egress via livekit"),
        "LiveKit is not running: nothing to say"
    );
    workers.egress.stop().await;
    workers.redis.stop().await;

    // With LiveKit answering: ListEgress works, or LiveKit refuses egress (no Redis).
    let lk = LiveKitDouble::start("APIdoctor", "doctor-secret-0123456789abcdef012345").await;
    let mut up = c.clone();
    up.livekit.internal_host = Some(lk.url.clone());
    let all = examine(&up).await;
    assert!(
        find(&all, "egress via livekit", Level::Ok).is_some(),
        "{all:?}"
    );
    lk.fail(bedrud_tests::livekit_double::Failure::method(
        "ListEgress",
        500,
        "internal",
    ));
    let all = examine(&up).await;
    let refused = find(&all, "egress via livekit", Level::Fail).expect("refused");
    assert!(refused.fix.contains("redis"), "{refused:?}");

    // An operator's Redis that does not answer, no egress, a directory that takes nothing.
    let mut broken = c.clone();
    broken.redis.address = Some(format!("127.0.0.1:{}", free_port()));
    broken.egress.binary_path = Some("/nonexistent/egress".into());
    broken.recordings.dir = PathBuf::from("/proc/bedrud-recordings");
    let all = examine(&broken).await;
    let redis = find(&all, "redis", Level::Fail).expect("unreachable");
    assert!(redis.fix.contains("redis.address"), "{redis:?}");
    let egress = find(&all, "egress", Level::Fail).expect("missing");
    assert!(egress.cause.contains("EGRESS_BIN"), "{egress:?}");
    let dir = find(&all, "recordings dir", Level::Fail).expect("unwritable");
    assert!(dir.fix.contains("recordings.bucket"), "{dir:?}");
}
