//! The web side of `bedrud run`: Bedrud's web app from `server.webDir` (files, app shell,
//! missing assets, caching, precompressed files, traversal), the page `/` shows without one,
//! and the `/health` redirects; the API is never shadowed.

use std::io::{Read, Write};

use crate::run_binary::start;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One raw request line, so the path reaches the server exactly as written.
fn raw_status(url: &str, path: &str) -> u16 {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn serves_the_web_app_like_bedrud() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("frontend");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(web.join("index.html"), "<html>index</html>").unwrap();
    std::fs::write(web.join("shell.html"), "<html>shell</html>").unwrap();
    std::fs::write(web.join("assets/app-3f2a.js"), "console.log(1)").unwrap();
    std::fs::write(web.join("assets/app-3f2a.js.gz"), b"\x1f\x8bgzipped").unwrap();
    std::fs::write(web.join("robots.txt"), "User-agent: *").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "do not serve").unwrap();
    let running = start(dir.path(), &[("SERVER_WEB_DIR", web.to_str().unwrap())]);
    let base = running.url.clone();
    let c = client();
    let get = |path: &str| c.get(format!("{base}{path}")).send();

    let r = get("/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert_eq!(r.text().await.unwrap(), "<html>index</html>");
    // The app's own routes get the shell.
    for path in ["/m/abc-defg-hij", "/auth/login", "/admin/users?page=2"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        assert_eq!(r.text().await.unwrap(), "<html>shell</html>", "{path}");
    }
    let r = get("/assets/app-3f2a.js").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/javascript");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(r.text().await.unwrap(), "console.log(1)");
    let r = c
        .get(format!("{base}/assets/app-3f2a.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(&r.bytes().await.unwrap()[..], b"\x1f\x8bgzipped");
    let r = get("/robots.txt").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    // A missing asset is a 404, never the shell.
    for path in ["/assets/app-0000.js", "/logo.png", "/styles/missing.css"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "not found");
    }
    // The API is never shadowed, and only GET/HEAD are served from files.
    let r = get("/api/health").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = get("/api/no-such-route").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/json");
    let r = c.post(format!("{base}/m/abc")).send().await.unwrap();
    assert_ne!(r.status(), 200);
    for path in ["/health", "/ready"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 307, "{path}");
        assert_eq!(r.headers()["location"], format!("/api{path}"));
    }
    // Nothing outside the directory, however the path is spelled.
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
    ] {
        assert_eq!(raw_status(&base, path), 400, "{path}");
    }
    running.terminate();
}

#[tokio::test]
async fn without_a_web_app_the_root_says_what_this_is() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), &[("SERVER_NAME", "Example <Meet>")]);
    let r = client()
        .get(format!("{}/", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    for text in [
        "Example &lt;Meet&gt;",
        "Database: answering",
        "LiveKit: ",
        "/api/health",
    ] {
        assert!(page.contains(text), "{text:?} in {page}");
    }
    let r = client()
        .get(format!("{}/m/room", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/json");
    running.terminate();
}
