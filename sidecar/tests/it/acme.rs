//! ACME (`server.useACME`) against a real ACME CA on loopback (pebble): the first certificate
//! issued over HTTP-01 on `server.httpPort` and swapped in with no restart, the account and
//! certificate kept under the data directory (0600) and reused by the next start, and a
//! certificate that expires within 30 days renewed at start.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use crate::pebble::Pebble;
use crate::run_binary::{Running, free_port, start};

const DOMAIN: &str = "meet.bedrud.test";

fn run(dir: &Path, pebble: &Pebble, http_port: u16) -> Running {
    let http_port = http_port.to_string();
    start(
        dir,
        &[
            ("SERVER_ENABLE_TLS", "true"),
            ("SERVER_USE_ACME", "true"),
            ("SERVER_DOMAIN", DOMAIN),
            ("SERVER_EMAIL", "ops@bedrud.test"),
            ("SERVER_HTTP_PORT", &http_port),
            ("SERVER_ACME_DIRECTORY", &pebble.directory),
            ("SERVER_ACME_CA_ROOT", pebble.api_root.to_str().unwrap()),
        ],
    )
}

/// Whether the server at `url` presents, for [`DOMAIN`], a certificate the CA issued.
async fn issued_by(root: &str, url: &str) -> bool {
    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(root.as_bytes()) {
        roots.add(der.unwrap()).unwrap();
    }
    let tcp = TcpStream::connect(url.trim_start_matches("https://"))
        .await
        .unwrap();
    let name = ServerName::try_from(DOMAIN).unwrap();
    crate::tls::trusting(roots).connect(name, tcp).await.is_ok()
}

/// Waits (up to a minute) until the CA's certificate is served.
async fn until_issued(root: &str, running: &Running, pebble: &Pebble) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !issued_by(root, &running.url).await {
        assert!(
            Instant::now() < deadline,
            "no ACME certificate served; bedrud's log:\n{}\npebble's log:\n{}",
            running.log.try_iter().collect::<Vec<_>>().join("\n"),
            pebble.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn certificates_come_from_the_ca_and_are_kept_and_renewed() {
    let http_port = free_port();
    let pebble = Pebble::start(http_port, Duration::from_secs(90 * 86_400));
    let root = pebble.issuing_root().await;
    let dir = tempfile::tempdir().unwrap();
    let acme = dir.path().join("data/acme");
    let read = |file: &str| std::fs::read_to_string(acme.join(file)).unwrap();

    // First start: a self-signed placeholder until the CA has validated and issued.
    let running = run(dir.path(), &pebble, http_port);
    until_issued(&root, &running, &pebble).await;
    for file in ["account.json", "cert.pem", "key.pem"] {
        let mode = std::fs::metadata(acme.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    // The plain port still redirects everything else.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = plain
        .get(format!("http://127.0.0.1:{http_port}/rooms"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    let r = plain
        .get(format!(
            "http://127.0.0.1:{http_port}/.well-known/acme-challenge/unknown"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (_, log) = running.terminate();
    assert!(log.iter().all(|l| !l.contains("order failed")), "{log:#?}");
    let (account, cert) = (read("account.json"), read("cert.pem"));

    // Second start: the stored certificate serves from the first handshake; nothing ordered.
    let running = run(dir.path(), &pebble, http_port);
    assert!(issued_by(&root, &running.url).await);
    assert!(running.early.iter().all(|l| !l.contains("self-signed")));
    running.terminate();
    assert_eq!(read("cert.pem"), cert);
    assert_eq!(read("account.json"), account);

    // A certificate with 10 days left (not the CA's): renewed by the same account.
    let other = crate::tls::Ca::new();
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(10);
    let (c, k, _) = other.leaf_until(&[DOMAIN], Some(soon));
    std::fs::write(acme.join("key.pem"), k).unwrap();
    std::fs::write(acme.join("cert.pem"), c).unwrap();
    let running = run(dir.path(), &pebble, http_port);
    until_issued(&root, &running, &pebble).await;
    running.terminate();
    assert_ne!(read("cert.pem"), cert);
    assert_eq!(read("account.json"), account);
}
