//! Drift between `infra/template.yaml` and the code: every function crate has its template
//! resource (and back), every HTTP route the template gives a function is served by that
//! function's router, and by the sidecar, and no two functions claim one route (a greedy
//! `{proxy+}` route claims its whole prefix).

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use bedrud_shared::http::{all_routes, app};
use bedrud_tests::TestServer;
use bedrud_tests::lambda_events::router_of;
use bedrud_tests::template::{grants, template};
use tower::ServiceExt;

/// Binary name → its HTTP routes (method, path) as the template declares them.
fn declared() -> BTreeMap<String, BTreeSet<(String, String)>> {
    let t = template();
    let mut out = BTreeMap::new();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("every function names its Binary")
            .to_string();
        let routes: &mut BTreeSet<_> = out.entry(binary).or_default();
        if let Some(events) = r["Properties"]["Events"].as_mapping() {
            for (_, e) in events {
                if e["Type"].as_str() == Some("HttpApi") {
                    let p = &e["Properties"];
                    routes.insert((
                        p["Method"].as_str().unwrap().to_uppercase(),
                        p["Path"].as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// Whether `app` has a route for this method and path: anything but the JSON fallback 404
/// and 405 counts (handlers may well refuse the dummy ids and missing token).
pub(crate) async fn serves(app: &Router, method: &str, path: &str) -> bool {
    let concrete: String = path
        .split('/')
        .map(|seg| if seg.starts_with('{') { "x" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    let req = Request::builder()
        .method(method)
        .uri(&concrete)
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    status != 405 && !(status == 404 && body.as_ref() == br#"{"error":"not found"}"#)
}

#[tokio::test]
async fn the_template_and_the_routers_agree() {
    let s = TestServer::start().await;
    let declared = declared();

    // Function crates and template resources, both ways.
    let dir = format!("{}/../functions", env!("CARGO_MANIFEST_DIR"));
    let crates: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let resources: BTreeSet<String> = declared.keys().cloned().collect();
    assert_eq!(
        crates, resources,
        "functions/* and the template's functions"
    );

    let sidecar = app(all_routes(), s.state.clone());
    let mut owner: BTreeMap<(String, String), String> = BTreeMap::new();
    for (binary, routes) in &declared {
        let Some(router) = router_of(binary) else {
            assert!(routes.is_empty(), "{binary} is not an HTTP function");
            continue;
        };
        let app = app(router, s.state.clone());
        for (method, path) in routes {
            if path.contains("{proxy+}") {
                // A greedy route hands a whole prefix to one function: checked for overlap
                // here, and its routes by the function's own tests. An exact route of another
                // function under the prefix wins at API Gateway (the most specific route), so
                // the greedy function must not serve it too.
                let prefix = path.split("{proxy+}").next().unwrap().to_string();
                for (other, rs) in declared.iter().filter(|(b, _)| *b != binary) {
                    for (m, p) in rs.iter().filter(|(_, p)| p.starts_with(&prefix)) {
                        assert!(
                            !p.contains("{proxy+}"),
                            "{path} of {binary} overlaps {p} of {other}"
                        );
                        assert!(
                            !serves(&app, m, p).await,
                            "{m} {p} is {other}'s, but {binary}'s router serves it too"
                        );
                    }
                }
                continue;
            }
            assert!(
                serves(&app, method, path).await,
                "template routes {method} {path} to {binary}, whose router does not serve it"
            );
            assert!(
                serves(&sidecar, method, path).await,
                "the sidecar does not serve {method} {path}"
            );
            if let Some(other) = owner.insert((method.clone(), path.clone()), binary.clone()) {
                panic!("{method} {path} is claimed by {other} and {binary}");
            }
        }
    }
    assert!(owner.len() >= 30, "every route counted: {}", owner.len());
}

/// Least privilege, checked against what each function's `main.rs` builds: items of the
/// table only (no Scan, batch writes or table administration), an index only where a route
/// queries it, the queue only for the functions that enqueue, objects only for the
/// processor (the recording function may read finished recordings, which its signed links
/// need), the secret for the functions that read it.
#[test]
fn each_function_may_do_what_it_does_and_no_more() {
    let t = template();
    let indexes: BTreeMap<&str, &[&str]> = [
        ("rooms", &["gsi1"][..]),
        ("join", &["gsi1"][..]),
        ("admin", &["gsi1", "gsi3", "gsi4"][..]),
        ("reconciler", &["gsi2", "gsi3"][..]),
    ]
    .into_iter()
    .collect();
    let mut seen = 0;
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        seen += 1;
        let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let main = std::fs::read_to_string(format!(
            "{}/../functions/{binary}/src/main.rs",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let g = grants(r);
        let has = |action: &str| g.iter().any(|(a, _)| a == action);
        for (a, res) in &g {
            assert!(!a.contains('*'), "{binary}: wildcard action {a}");
            assert!(
                ![
                    "dynamodb:Scan",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:DeleteTable"
                ]
                .contains(&a.as_str()),
                "{binary}: {a}"
            );
            if a.starts_with("dynamodb:") && res.contains("/index/") {
                let allowed = indexes.get(binary).copied().unwrap_or(&[]);
                assert!(
                    a == "dynamodb:Query" && allowed.iter().any(|i| res.contains(i)),
                    "{binary}: {a} on {res}"
                );
            }
        }
        for i in indexes.get(binary).copied().unwrap_or(&[]) {
            assert!(
                g.iter()
                    .any(|(_, res)| res.contains(&format!("/index/{i}"))),
                "{binary} queries {i}"
            );
        }
        assert!(
            has("dynamodb:GetItem") && has("dynamodb:UpdateItem"),
            "{binary}"
        );
        assert_eq!(
            has("secretsmanager:GetSecretValue"),
            main.contains(".secrets()"),
            "{binary}: the secret exactly when main.rs reads it"
        );
        let sends_to = |queue: &str| {
            g.iter()
                .any(|(a, res)| a == "sqs:SendMessage" && res.contains(queue))
        };
        assert_eq!(
            sends_to("RecordingQueue"),
            main.contains(".queue()"),
            "{binary}: SendMessage to the recordings queue exactly when main.rs builds it"
        );
        assert_eq!(
            sends_to("MailQueue"),
            main.contains(".mail_queue()"),
            "{binary}: SendMessage to the mail queue exactly when main.rs builds it"
        );
        assert_eq!(
            has("ses:SendEmail"),
            main.contains(".mail_worker()"),
            "{binary}: ses:SendEmail exactly for the mailer"
        );
        for (a, res) in g.iter().filter(|(a, _)| a == "ses:SendEmail") {
            assert!(
                res.contains("identity/${SesIdentity}"),
                "{binary}: {a} on {res}"
            );
        }
        assert_eq!(
            has("sqs:GetQueueAttributes"),
            main.contains(".queue_watch()"),
            "{binary}: queue depth exactly when main.rs watches the queue"
        );
        let s3: Vec<_> = g.iter().filter(|(a, _)| a.starts_with("s3:")).collect();
        if main.contains(".bucket()") {
            for a in ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] {
                assert!(has(a), "{binary}: {a}");
            }
        } else if main.contains(".bucket_links()") {
            assert!(
                s3.iter()
                    .all(|(a, res)| a == "s3:GetObject" && res.contains("recordings/*")),
                "{binary}: links read finished recordings only: {s3:?}"
            );
            assert!(!s3.is_empty(), "{binary}: signed links need s3:GetObject");
        } else {
            assert!(s3.is_empty(), "{binary} must not touch the bucket: {s3:?}");
        }
    }
    assert_eq!(seen, 11);
}
