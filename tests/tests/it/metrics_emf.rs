//! Metrics inside Lambda: each measurement a CloudWatch Embedded Metric Format line, checked
//! against the format's rules for a real invocation of the webhook function (API Gateway
//! event in, lines out), and the template's alarm reading what the code emits.

use std::io::Write;
use std::sync::{Arc, Mutex};

use bedrud_shared::lambda;
use bedrud_shared::runtime::Counting;
use bedrud_tests::lambda_events::{event, invoke, router_of};
use bedrud_tests::template::template;
use bedrud_tests::test_state;
use serde_json::Value;

/// CloudWatch's units (a metric's `Unit` must be one of them).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The EMF specification's rules for one line: `_aws` with a millisecond `Timestamp` and
/// directives naming a namespace, dimension sets (every name a string at the root, at most
/// 30 per set) and metrics (every name a number at the root, with a known unit).
fn check_emf(line: &Value, namespace: &str) {
    let aws = &line["_aws"];
    let ts = aws["Timestamp"].as_u64().expect("Timestamp in ms");
    let now = bedrud_shared::domain::now() as u64 * 1000;
    assert!(ts + 60_000 > now && ts < now + 60_000, "{line}");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap();
    assert!(!directives.is_empty());
    for d in directives {
        assert_eq!(d["Namespace"].as_str(), Some(namespace));
        for set in d["Dimensions"].as_array().unwrap() {
            let set = set.as_array().unwrap();
            assert!(!set.is_empty() && set.len() <= 30, "{line}");
            for name in set {
                let name = name.as_str().unwrap();
                assert!(
                    line[name].is_string(),
                    "dimension {name} at the root: {line}"
                );
            }
        }
        let metrics = d["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            assert!(line[name].is_number(), "metric {name} at the root: {line}");
            assert!(UNITS.contains(&m["Unit"].as_str().unwrap()), "{line}");
        }
    }
}

#[tokio::test]
async fn a_webhook_invocation_writes_emf_lines_the_alarm_reads() {
    let capture = Capture::default();
    bedrud_shared::metrics::enable_emf("BedrudTest", Some(Box::new(capture.clone())));
    let (state, _dir) = test_state(Counting::InProcess, |_| {}).await;
    let app = lambda::service(router_of("webhook").unwrap(), state);
    let delivery = event("livekit-webhook-track-published.json");
    for _ in 0..2 {
        assert_eq!(invoke(&app, &delivery).await.0, 200);
    }
    let mut forged = delivery.clone();
    forged["headers"]["authorization"] = "not-a-signature".into();
    assert_eq!(invoke(&app, &forged).await.0, 401);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    for line in &lines {
        check_emf(line, "BedrudTest");
    }
    let count = |metric: &str, dims: &[(&str, &str)]| {
        lines
            .iter()
            .filter(|l| l[metric].is_number() && dims.iter().all(|(k, v)| l[*k] == *v))
            .count()
    };
    // Other tests in this binary share the sink: count only this test's deliveries.
    assert!(
        count(
            "WebhookDeliveries",
            &[("Event", "other"), ("Outcome", "applied")]
        ) >= 1
    );
    assert!(
        count(
            "WebhookDeliveries",
            &[("Event", "other"), ("Outcome", "duplicate")]
        ) >= 1
    );
    assert!(count("WebhookDeliveries", &[("Outcome", "refused")]) >= 1);
    let request = lines
        .iter()
        .find(|l| l["Route"] == "/api/livekit/webhook" && l["Status"] == "200")
        .expect("a request line");
    assert!(request["Latency"].as_f64().unwrap() >= 0.0);
    assert_eq!(request["Requests"], 1.0);

    // The template's refusal alarm reads exactly this metric and dimension set.
    let t = template();
    let alarm = &t["Resources"]["WebhookRefusalsAlarm"]["Properties"];
    let refused = lines.iter().find(|l| l["Outcome"] == "refused").unwrap();
    let metric = alarm["MetricName"].as_str().unwrap();
    assert!(refused[metric].is_number(), "{metric} in {refused}");
    let dims: Vec<&str> = alarm["Dimensions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d["Name"].as_str().unwrap())
        .collect();
    assert_eq!(dims, ["Outcome"]);
    assert_eq!(alarm["Dimensions"][0]["Value"].as_str(), Some("refused"));
    let sets = &refused["_aws"]["CloudWatchMetrics"][0]["Dimensions"];
    assert!(
        sets.as_array()
            .unwrap()
            .iter()
            .any(|s| s == &serde_json::json!(dims)),
        "the alarm's dimension set is emitted: {sets}"
    );
}
