//! Drift between `infra/template.yaml` and the code: every function crate has its template
//! resource (and back), every HTTP route the template gives a function is served by that
//! function's router, and by the sidecar, and no two functions claim one route (a greedy
//! `{proxy+}` route claims its whole prefix).

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use bedrud_shared::AppState;
use bedrud_shared::http::{
    admin, all_routes, app, auth, health, join, moderation, recordings, rooms, webhook,
};
use bedrud_tests::TestServer;
use serde_yaml_ng::Value;
use tower::ServiceExt;

fn template() -> Value {
    let path = format!("{}/../infra/template.yaml", env!("CARGO_MANIFEST_DIR"));
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

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

/// The router each function's `main.rs` serves.
fn router_of(binary: &str) -> Option<Router<AppState>> {
    Some(match binary {
        "auth" => auth::routes().merge(health::routes()),
        "rooms" => rooms::routes(),
        "join" => join::routes(),
        "moderation" => moderation::routes(),
        "webhook" => webhook::routes(),
        "recording" => recordings::routes(),
        "admin" => admin::routes(),
        _ => return None,
    })
}

/// Whether `app` has a route for this method and path: anything but the JSON fallback 404
/// and 405 counts (handlers may well refuse the dummy ids and missing token).
async fn serves(app: &Router, method: &str, path: &str) -> bool {
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
                // below, and its routes by the function's own tests.
                let prefix = path.split("{proxy+}").next().unwrap().to_string();
                let clash = declared
                    .iter()
                    .filter(|(b, _)| *b != binary)
                    .flat_map(|(b, rs)| rs.iter().map(move |(_, p)| (b, p)))
                    .find(|(_, p)| p.starts_with(&prefix));
                assert!(clash.is_none(), "{path} of {binary} overlaps {clash:?}");
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
