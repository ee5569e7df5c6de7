//! The OpenAPI description: the checked-in `docs/openapi.json` is what the code generates,
//! it names exactly the routes the routers serve (path and method, both ways), it is valid
//! OpenAPI 3.1 (`openapi-spec-validator`), real answers of the routes clients call match
//! its schemas (`openapi-schema-validator`), and both shapes serve it.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use bedrud_shared::http::openapi::{DOCUMENT, document_text};
use bedrud_shared::http::{all_routes, app};
use bedrud_tests::livekit_double::LiveKitDouble;
use bedrud_tests::people;
use bedrud_tests::scenarios::{PASSWORD, unique_email};
use bedrud_tests::{TEST_LK_KEY, TEST_LK_SECRET, TestServer};
use serde_json::{Value, json};

use super::template_routes::serves;

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON")
}

/// Regenerate with `BEDRUD_WRITE_OPENAPI=1 cargo test -p bedrud-tests --test it openapi`.
#[test]
fn the_checked_in_description_is_the_codes() {
    let generated = document_text();
    if std::env::var_os("BEDRUD_WRITE_OPENAPI").is_some() {
        let path = format!("{}/../docs/openapi.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(path, &generated).unwrap();
        return;
    }
    assert!(
        generated == DOCUMENT,
        "docs/openapi.json differs from what the code describes; regenerate it with \
         BEDRUD_WRITE_OPENAPI=1 cargo test -p bedrud-tests --test it openapi"
    );
}

/// The paths a router holds, from its `Debug` (axum lists them; nothing else does).
fn routed_paths(router: &axum::Router<bedrud_shared::AppState>) -> BTreeSet<String> {
    let text = format!("{router:?}");
    let paths: BTreeSet<String> = text
        .split('"')
        .filter(|s| s.starts_with("/api/"))
        .map(str::to_string)
        .collect();
    assert!(
        paths.contains("/api/room/join") && paths.len() > 50,
        "axum's Debug no longer lists the paths: {paths:?}"
    );
    paths
}

#[tokio::test]
async fn every_routed_operation_is_described_and_every_described_one_routed() {
    let s = TestServer::start().await;
    let routes = all_routes();
    let paths = routed_paths(&routes);
    let sidecar = app(routes, s.state.clone());
    let mut routed = BTreeSet::new();
    for path in &paths {
        for method in METHODS {
            if serves(&sidecar, method, path).await {
                routed.insert((method.to_lowercase(), path.clone()));
            }
        }
    }
    let doc = document();
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                described.insert((method.to_lowercase(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = routed.difference(&described).collect();
    let extra: Vec<_> = described.difference(&routed).collect();
    assert!(missing.is_empty(), "routed but not described: {missing:?}");
    assert!(extra.is_empty(), "described but not routed: {extra:?}");
    assert!(
        routed.len() >= 80,
        "every operation counted: {}",
        routed.len()
    );
}

/// Runs Python from the test tools' venv with `args`, feeding `stdin`; panics with its
/// output when it fails.
fn python(script: &str, args: &[&str], stdin: &str) {
    let python = std::env::var("BEDRUD_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python with openapi-spec-validator (the test tools' venv)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_description_is_valid_openapi_3_1() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Bedrud API");
    python(
        "import json, sys\n\
         from openapi_spec_validator import validate\n\
         from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
         validate(json.load(sys.stdin), cls=OpenAPIV31SpecValidator)",
        &[],
        DOCUMENT,
    );
}

/// Each case: an operation, the status it answered, and the body; the body must match the
/// schema the description gives that answer.
const MATCH_SCHEMAS: &str = r#"
import json, sys
from openapi_schema_validator import OAS31Validator
doc = json.load(open(sys.argv[1]))
failed = []
cases = json.load(sys.stdin)
for c in cases:
    op = doc["paths"][c["path"]][c["method"]]
    answer = op["responses"][str(c["status"])]
    schema = dict(answer["content"]["application/json"]["schema"])
    schema["components"] = doc["components"]
    errors = [e.message for e in OAS31Validator(schema).iter_errors(c["body"])]
    if errors:
        failed.append((c["method"], c["path"], c["status"], errors[:3], c["body"]))
for f in failed:
    print(f)
print(len(cases), "answers checked;", len(failed), "do not match")
sys.exit(1 if failed else 0)
"#;

#[tokio::test]
async fn real_answers_match_the_described_schemas() {
    let lk = LiveKitDouble::start(TEST_LK_KEY, TEST_LK_SECRET).await;
    let url = lk.url.clone();
    let s = TestServer::with_config(|c| c.livekit.internal_host = Some(url)).await;
    let api = &s.api;
    let mut cases = Vec::new();
    let mut case = |method: &str, path: &str, reply: &bedrud_tests::Reply| {
        cases.push(json!({
            "method": method, "path": path, "status": reply.status, "body": reply.body,
        }));
    };

    let email = unique_email("openapi");
    let body = json!({ "email": email, "password": PASSWORD, "name": "Olga Open" });
    let r = api
        .post("/api/auth/register", None, &body)
        .await
        .expect(200);
    case("post", "/api/auth/register", &r);
    let token = r.body["tokens"]["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = r.body["tokens"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    let bearer = Some(token.as_str());
    let login = json!({ "email": email, "password": PASSWORD });
    let r = api.post("/api/auth/login", None, &login).await.expect(200);
    case("post", "/api/auth/login", &r);
    let r = api
        .post(
            "/api/auth/refresh",
            None,
            &json!({ "refresh_token": refresh }),
        )
        .await
        .expect(200);
    case("post", "/api/auth/refresh", &r);
    let r = api.get("/api/auth/me", bearer).await.expect(200);
    case("get", "/api/auth/me", &r);
    let r = api.get("/api/auth/settings", None).await.expect(200);
    case("get", "/api/auth/settings", &r);
    let r = api.get("/api/health", None).await.expect(200);
    case("get", "/api/health", &r);
    let guest = api
        .post("/api/auth/guest-login", None, &json!({ "name": "Gus" }))
        .await
        .expect(200);
    case("post", "/api/auth/guest-login", &guest);

    let owner = people::user(api).await;
    let created = api
        .post(
            "/api/room/create",
            owner.bearer(),
            &json!({ "isPublic": true, "settings": { "allowChat": true } }),
        )
        .await
        .expect(200);
    case("post", "/api/room/create", &created);
    let name = created.body["name"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    let r = api.get("/api/room/list", owner.bearer()).await.expect(200);
    case("get", "/api/room/list", &r);
    let join = json!({ "roomName": name });
    let r = api
        .post("/api/room/join", owner.bearer(), &join)
        .await
        .expect(200);
    case("post", "/api/room/join", &r);
    let r = api
        .post("/api/room/refresh-token", owner.bearer(), &join)
        .await
        .expect(200);
    case("post", "/api/room/refresh-token", &r);
    let r = api
        .post(
            "/api/room/guest-join",
            None,
            &json!({ "roomName": name, "guestName": "Gwen" }),
        )
        .await
        .expect(200);
    case("post", "/api/room/guest-join", &r);
    let r = api
        .get(&format!("/api/room/check/{name}"), None)
        .await
        .expect(200);
    case("get", "/api/room/check/{room_name}", &r);
    for q in ["", "?countOnly=1"] {
        let r = api
            .get(&format!("/api/room/{id}/presence{q}"), owner.bearer())
            .await
            .expect(200);
        case("get", "/api/room/{room_id}/presence", &r);
    }
    let member = people::user(api).await;
    api.post("/api/room/join", member.bearer(), &join)
        .await
        .expect(200);
    lk.connect(&bedrud_tests::livekit_room(&created.body), &member.id, &[]);
    let r = api
        .post(
            &format!("/api/room/{id}/mute/{}", member.id),
            owner.bearer(),
            &json!({}),
        )
        .await
        .expect(200);
    case("post", "/api/room/{room_id}/mute/{identity}", &r);
    let r = api
        .get(&format!("/api/rooms/{id}/recordings"), owner.bearer())
        .await
        .expect(200);
    case("get", "/api/rooms/{room_id}/recordings", &r);
    let r = api
        .call(
            reqwest::Method::DELETE,
            &format!("/api/room/{id}"),
            owner.bearer(),
            None,
        )
        .await
        .expect(200);
    case("delete", "/api/room/{room_id}", &r);
    let r = api
        .get("/api/room/archived", owner.bearer())
        .await
        .expect(200);
    case("get", "/api/room/archived", &r);

    let admin = people::admin(api, &s.state).await;
    for path in [
        "/api/admin/users",
        "/api/admin/rooms",
        "/api/admin/overview",
    ] {
        let r = api.get(path, admin.bearer()).await.expect(200);
        case("get", path, &r);
    }
    let r = api
        .get("/api/admin/users?cursor=", admin.bearer())
        .await
        .expect(200);
    case("get", "/api/admin/users", &r);

    let doc = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(doc.path(), DOCUMENT).unwrap();
    let cases = serde_json::to_string(&cases).unwrap();
    python(MATCH_SCHEMAS, &[doc.path().to_str().unwrap()], &cases);
}

#[tokio::test]
async fn both_shapes_serve_it() {
    let s = TestServer::start().await;
    let r = s.api.get("/api/openapi.json", None).await.expect(200);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.raw, DOCUMENT);
    let page = s.api.get("/api/docs", None).await.expect(200);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(page.raw.contains("fetch(\"openapi.json\")"));
    assert!(
        !page.raw.contains("https://"),
        "the page loads nothing from elsewhere"
    );
    // The rooms function serves it on AWS (the template routes it there: template_routes).
    let rooms = bedrud_tests::lambda_events::router_of("rooms").expect("rooms is an HTTP function");
    let lambda = app(rooms, s.state.clone());
    assert!(serves(&lambda, "GET", "/api/openapi.json").await);
    assert!(serves(&lambda, "GET", "/api/docs").await);
}
