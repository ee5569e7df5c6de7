//! `/livekit/*` on `bedrud run`'s port, against the fake `livekit-server`: plain requests
//! stream through with the prefix stripped and the forwarding headers set; LiveKit's `/rtc`
//! WebSocket upgrades and carries messages both ways, large frames and the close included; a
//! LiveKit that is down answers 502 naming the fix.

use std::net::TcpStream;

use serde_json::Value;
use tungstenite::Message;
use tungstenite::client::IntoClientRequest;

use crate::run_binary::{free_port, start, start_with_fake_livekit};

#[tokio::test]
async fn proxies_http_and_the_signalling_websocket_to_the_embedded_livekit() {
    let dir = tempfile::tempdir().unwrap();
    let (running, lk_port) = start_with_fake_livekit(dir.path(), &[]);
    let base = running.url.clone();
    let ours = base.trim_start_matches("http://").to_string();
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{base}/livekit/echo?room=a"))
        .header("x-custom", "kept")
        .header("x-forwarded-for", "6.6.6.6")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["path"], "/echo?room=a", "prefix stripped, query kept");
    let h = &seen["headers"];
    assert_eq!(
        h["x-forwarded-for"], "127.0.0.1",
        "an untrusted client's claim is replaced"
    );
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], ours);
    assert_eq!(h["host"], format!("127.0.0.1:{lk_port}"));
    assert_eq!(h["x-custom"], "kept");
    // A large body streams through both ways.
    let big = "x".repeat(3 * 1024 * 1024);
    let r = http
        .post(format!("{base}/livekit/echo"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    let seen: Value = r.json().await.unwrap();
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["body"].as_str().unwrap().len(), big.len());
    // LiveKit's own refusal of a request that is no upgrade passes through as it is.
    let r = http
        .get(format!("{base}/livekit/rtc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.text().await.unwrap(), "websocket upgrade required");

    // The signalling socket, from a real WebSocket client.
    let ws_url = format!("ws://{ours}/livekit/rtc?access_token=t");
    let done = tokio::task::spawn_blocking(move || {
        let stream = TcpStream::connect(
            ws_url
                .trim_start_matches("ws://")
                .split('/')
                .next()
                .unwrap(),
        )
        .unwrap();
        let (mut ws, res) = tungstenite::client(ws_url.into_client_request().unwrap(), stream)
            .expect("upgraded through the proxy");
        assert_eq!(res.status(), 101);
        ws.send(Message::text("hello")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("hello"));
        let frame: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        ws.send(Message::binary(frame.clone())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::binary(frame));
        for i in 0..50 {
            ws.send(Message::text(format!("m{i}"))).unwrap();
        }
        for i in 0..50 {
            assert_eq!(ws.read().unwrap(), Message::text(format!("m{i}")));
        }
        ws.close(None).unwrap();
        loop {
            match ws.read() {
                Ok(Message::Close(_)) => continue,
                Ok(other) => panic!("after close: {other:?}"),
                Err(tungstenite::Error::ConnectionClosed) => break,
                Err(e) => panic!("closing: {e}"),
            }
        }
    });
    done.await.unwrap();
    // The server is still well after the socket went.
    http.get(format!("{base}/api/health"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    // `bedrud doctor` on this machine checks the same upgrade.
    let mut config = bedrud_shared::config::Config::default();
    config.database.path = dir.path().join("doctor.db");
    config.server.port = ours.rsplit(':').next().unwrap().parse().unwrap();
    config.livekit.port = lk_port.parse().unwrap();
    let findings = bedrud_sidecar::doctor::examine(&config).await;
    let proxy = findings
        .iter()
        .find(|f| f.check == "livekit proxy")
        .expect("checked");
    assert_eq!(proxy.level, bedrud_sidecar::doctor::Level::Ok, "{proxy:?}");
    assert!(proxy.symptom.contains("(101)"), "{proxy:?}");
    running.terminate();
}

#[tokio::test]
async fn livekit_down_is_a_502_that_names_the_fix_and_external_mode_has_no_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let closed = format!("http://127.0.0.1:{}", free_port());
    let external = [
        ("LIVEKIT_EXTERNAL", "true"),
        ("LIVEKIT_HOST", "wss://livekit.example.com"),
        ("LIVEKIT_INTERNAL_HOST", closed.as_str()),
        ("LIVEKIT_API_KEY", "APIproxytest"),
        (
            "LIVEKIT_API_SECRET",
            "proxy-test-secret-0123456789abcdef0123",
        ),
    ];
    let running = start(dir.path(), &external);
    let r = reqwest::get(format!("{}/livekit/echo", running.url))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "an external LiveKit is not proxied by default"
    );
    running.terminate();

    let mut env = external.to_vec();
    env.push(("LIVEKIT_PROXY", "true"));
    let running = start(dir.path(), &env);
    let r = reqwest::get(format!("{}/livekit/rtc", running.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("LiveKit is not reachable") && error.contains("bedrud doctor"),
        "{error}"
    );
    let mut config = bedrud_shared::config::Config::default();
    config.database.path = dir.path().join("doctor.db");
    config.server.port = running.url.rsplit(':').next().unwrap().parse().unwrap();
    config.livekit.proxy = Some(true);
    let findings = bedrud_sidecar::doctor::examine(&config).await;
    let proxy = findings
        .iter()
        .find(|f| f.check == "livekit proxy")
        .expect("checked");
    assert_eq!(
        proxy.level,
        bedrud_sidecar::doctor::Level::Fail,
        "{proxy:?}"
    );
    running.terminate();
}
