//! CORS: off by default (same origin); with `cors.allowedOrigins` a listed origin's preflight
//! and request are answered with its headers (credentials when allowed), anyone else's not.

use bedrud_tests::TestServer;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};

fn from(origin: &str, preflight: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("origin", HeaderValue::from_str(origin).unwrap());
    if let Some(m) = preflight {
        h.insert(
            "access-control-request-method",
            HeaderValue::from_str(m).unwrap(),
        );
        h.insert(
            "access-control-request-headers",
            HeaderValue::from_static("content-type,authorization"),
        );
    }
    h
}

fn header(r: &bedrud_tests::Reply, name: &str) -> Option<String> {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

const APP: &str = "https://app.example.com";

#[tokio::test]
async fn off_by_default() {
    let s = TestServer::start().await;
    let r = s
        .api
        .raw(
            Method::GET,
            "/api/health",
            None,
            from(APP, None),
            Vec::new(),
        )
        .await;
    assert_eq!(header(&r, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn listed_origins_only_with_credentials() {
    let s = TestServer::with_config(|c| {
        c.cors.allowed_origins = vec![APP.into()];
        c.cors.allow_credentials = true;
    })
    .await;
    let pre = s
        .api
        .raw(
            Method::OPTIONS,
            "/api/auth/login",
            None,
            from(APP, Some("POST")),
            Vec::new(),
        )
        .await;
    assert!(pre.status < 300, "{}", pre.status);
    assert_eq!(
        header(&pre, "access-control-allow-origin").as_deref(),
        Some(APP)
    );
    assert_eq!(
        header(&pre, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let methods = header(&pre, "access-control-allow-methods").unwrap();
    assert!(
        methods.contains("POST") && methods.contains("DELETE"),
        "{methods}"
    );
    let allowed = header(&pre, "access-control-allow-headers").unwrap();
    assert!(allowed.contains("authorization"), "{allowed}");

    let r = s
        .api
        .raw(
            Method::GET,
            "/api/health",
            None,
            from(APP, None),
            Vec::new(),
        )
        .await
        .expect(200);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some(APP)
    );
    let exposed = header(&r, "access-control-expose-headers").unwrap_or_default();
    assert!(exposed.contains("x-request-id"), "{exposed}");

    for other in ["https://evil.example.net", "http://app.example.com"] {
        let pre = s
            .api
            .raw(
                Method::OPTIONS,
                "/api/auth/login",
                None,
                from(other, Some("POST")),
                Vec::new(),
            )
            .await;
        assert_eq!(header(&pre, "access-control-allow-origin"), None, "{other}");
        let r = s
            .api
            .raw(
                Method::GET,
                "/api/health",
                None,
                from(other, None),
                Vec::new(),
            )
            .await;
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{other}");
    }
}

#[test]
fn a_wildcard_with_credentials_is_refused() {
    let mut c = bedrud_shared::config::Config::default();
    c.cors.allowed_origins = vec!["*".into()];
    c.cors.allow_credentials = true;
    assert_eq!(c.validate().unwrap_err().key, "cors.allowedOrigins");
    c.cors.allow_credentials = false;
    c.validate().unwrap();
    c.cors.allowed_origins = vec!["https://app.example.com/path".into()];
    assert_eq!(c.validate().unwrap_err().key, "cors.allowedOrigins");
}
