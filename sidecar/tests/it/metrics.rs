//! `/metrics` on `bedrud run`, read by Prometheus's own parser (the Python
//! `prometheus_client`): off by default, on the API port only with the bearer token, on its
//! own address without one; requests, webhooks, join tokens, the store and the job queue
//! counted as they happen.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::{Api, TEST_LK_KEY, TEST_LK_SECRET, people};
use livekit_protocol as proto;
use serde_json::json;

use crate::run_binary::{free_port, start};

const TOKEN: &str = "metrics-token-0123456789abcdef";

/// One sample: its name, labels and value.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses an exposition with `prometheus_client.parser` (it refuses malformed text).
pub(crate) fn parse(text: &str) -> Vec<Sample> {
    let python = std::env::var("BEDRUD_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .args([
            "-c",
            "import sys, json\n\
             from prometheus_client.parser import text_string_to_metric_families\n\
             out = [[s.name, s.labels, s.value] for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples]\n\
             print(json.dumps(out))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python with prometheus_client (the test tools' venv)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the exposition does not parse: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .map(|(name, labels, value)| Sample {
            name,
            labels,
            value,
        })
        .collect()
}

/// The value of the sample named `name` whose labels include `labels` (0 when absent).
pub(crate) fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{url}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn samples(url: &str, token: Option<&str>) -> Vec<Sample> {
    let res = scrape(url, token).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    parse(&res.text().await.unwrap())
}

fn webhook_event(id: &str) -> proto::WebhookEvent {
    proto::WebhookEvent {
        event: "track_published".into(),
        id: id.into(),
        created_at: bedrud_shared::domain::now(),
        ..Default::default()
    }
}

#[tokio::test]
async fn on_the_api_port_with_the_token_counting_what_happens() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(
        dir.path(),
        &[
            ("METRICS_ENABLED", "true"),
            ("METRICS_TOKEN", TOKEN),
            ("LIVEKIT_API_KEY", TEST_LK_KEY),
            ("LIVEKIT_API_SECRET", TEST_LK_SECRET),
            ("LIVEKIT_BIN", "/nonexistent/livekit-server"),
        ],
    );
    let url = running.url.clone();
    assert_eq!(scrape(&url, None).await.status(), 401);
    assert_eq!(scrape(&url, Some("wrong")).await.status(), 401);
    let before = samples(&url, Some(TOKEN)).await;
    let registered = |s: &[Sample]| {
        value(
            s,
            "bedrud_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/auth/register"),
                ("status", "200"),
            ],
        )
    };

    let api = Api::new(&url);
    let owner = people::user(&api).await;
    api.get("/api/nothing-here", None).await.expect(404);
    let room = api
        .post(
            "/api/room/create",
            owner.bearer(),
            &json!({"isPublic": true}),
        )
        .await
        .expect(200);
    api.post(
        "/api/room/join",
        owner.bearer(),
        &json!({"roomName": room.body["name"]}),
    )
    .await
    .expect(200);
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let hook = format!("{url}/api/livekit/webhook");
    for _ in 0..2 {
        assert_eq!(
            lk.send_webhook(&hook, &webhook_event("EV_metrics"))
                .await
                .status(),
            200
        );
    }
    let unsigned = reqwest::Client::new()
        .post(&hook)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    let after = samples(&url, Some(TOKEN)).await;
    assert_eq!(
        registered(&after) - registered(&before),
        1.0,
        "a counter moves"
    );
    assert_eq!(
        value(
            &after,
            "bedrud_http_requests_total",
            &[("route", "<unmatched>"), ("status", "404")]
        ),
        1.0
    );
    let durations = value(
        &after,
        "bedrud_http_request_duration_seconds_count",
        &[("route", "/api/room/join")],
    );
    assert_eq!(durations, 1.0);
    assert!(
        after
            .iter()
            .any(|s| s.name == "bedrud_http_request_duration_seconds_bucket"
                && s.labels.get("le").map(String::as_str) == Some("0.005")),
        "latency is a histogram with buckets"
    );
    for (outcome, event, n) in [
        ("applied", "other", 1.0),
        ("duplicate", "other", 1.0),
        ("refused", "unknown", 1.0),
    ] {
        assert_eq!(
            value(
                &after,
                "bedrud_webhook_deliveries_total",
                &[("event", event), ("outcome", outcome)]
            ),
            n,
            "{outcome}"
        );
    }
    assert_eq!(
        value(&after, "bedrud_join_tokens_total", &[("who", "member")]),
        1.0
    );
    assert!(
        value(
            &after,
            "bedrud_store_operation_duration_seconds_count",
            &[("backend", "sqlite"), ("op", "write")]
        ) > 0.0
    );
    assert_eq!(
        value(&after, "bedrud_livekit_up", &[]),
        0.0,
        "no LiveKit runs"
    );
    assert!(
        after.iter().any(|s| s.name == "bedrud_jobs"
            && s.labels.get("state").map(String::as_str) == Some("dead")),
        "the job queue's depth"
    );
    running.terminate();
}

#[tokio::test]
async fn on_its_own_address_without_a_token_and_never_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let plain = start(
        dir.path(),
        &[("LIVEKIT_BIN", "/nonexistent/livekit-server")],
    );
    let res = scrape(&plain.url, None).await;
    assert_eq!(res.status(), 404, "off by default");
    plain.terminate();

    let listen = format!("127.0.0.1:{}", free_port());
    let running = start(
        dir.path(),
        &[
            ("METRICS_ENABLED", "true"),
            ("METRICS_LISTEN", listen.as_str()),
            ("LIVEKIT_BIN", "/nonexistent/livekit-server"),
        ],
    );
    let own = samples(&format!("http://{listen}"), None).await;
    assert!(own.iter().any(|s| s.name == "bedrud_livekit_up"));
    assert_eq!(
        scrape(&running.url, Some("anything")).await.status(),
        404,
        "not on the API port without a token"
    );
    running.terminate();
}

#[test]
fn on_the_api_port_without_a_token_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .current_dir(dir.path())
        .arg("run")
        .env("METRICS_ENABLED", "true")
        .env("SERVER_PORT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("metrics.token") && said.contains("metrics.listen"),
        "{said}"
    );
}
