//! A Bedrud `config.yaml` as its installer writes it (quoted ports, its `recording:` block, its
//! keys we do not use) starts `bedrud run` as is: HTTPS with its certificate files, the plain
//! port redirecting; `LIVEKIT_MANAGED` leaves LiveKit to its own service; a typo still stops
//! the start naming the key.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run_binary::{free_port, start};

/// The fixture with its placeholders filled; the file's path and the plain-HTTP port.
fn installed(dir: &Path, extra: &str) -> (PathBuf, u16) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    let http_port = free_port();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/bedrud/config.yaml"),
    )
    .unwrap()
    .replace("@DIR@", dir.to_str().unwrap())
    .replace("@PORT@", &free_port().to_string())
    .replace("@HTTP_PORT@", &http_port.to_string())
    .replace("@LK_PORT@", &free_port().to_string())
    .replace("server:\n", &format!("server:\n{extra}"));
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).unwrap();
    (path, http_port)
}

fn insecure() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn bedruds_installed_config_starts_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let (config, http_port) = installed(dir.path(), "");
    let running = start(dir.path(), &[("CONFIG_PATH", config.to_str().unwrap())]);
    assert!(running.url.starts_with("https://"), "{}", running.url);
    let warned = running
        .early
        .iter()
        .find(|l| l.contains("config keys not used by bedrud"))
        .expect("one warning names Bedrud's keys we do not use");
    for key in [
        "server.readTimeout",
        "chat",
        "queue",
        "recording.maxFileSizeMB",
    ] {
        assert!(warned.contains(key), "{key} in {warned}");
    }
    // Its sign-in providers are read now (empty ids: off).
    assert!(!warned.contains("auth.google"), "{warned}");
    let c = insecure();
    let r = c
        .get(format!("{}/api/health", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("http://127.0.0.1:{http_port}/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    let port = running.url.rsplit(':').next().unwrap();
    assert_eq!(
        r.headers()["location"],
        format!("https://localhost:{port}/rooms")
    );
    running.terminate();
}

#[tokio::test]
async fn livekit_managed_is_not_started_and_is_proxied() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = installed(dir.path(), "");
    let running = start(
        dir.path(),
        &[
            ("CONFIG_PATH", config.to_str().unwrap()),
            ("LIVEKIT_MANAGED", "true"),
            ("LIVEKIT_BIN", "/nonexistent/livekit-server"),
        ],
    );
    // LiveKit's own unit is down here: the proxy says so, nothing tried to start one.
    let r = insecure()
        .get(format!("{}/livekit/rtc", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let (_, log) = running.terminate();
    assert!(log.iter().all(|l| !l.contains("livekit-server")), "{log:?}");
}

#[test]
fn a_typo_still_stops_the_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (config, _) = installed(dir.path(), "  prot: \"8443\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .args(["run", "--config", config.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("server.prot") && err.contains("not a configuration key"),
        "{err}"
    );
}
