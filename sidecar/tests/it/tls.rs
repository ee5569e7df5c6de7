//! HTTPS on `bedrud run`: a certificate from files, checked by a client that trusts only the
//! test CA; a renewal picked up with no restart while an open connection keeps working; a
//! broken replacement keeps the old certificate; a self-signed certificate made once and
//! served at `/api/cert`; the plain port's redirect.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::run_binary::{free_port, start};

/// A test CA.
pub(crate) struct Ca(CertifiedIssuer<'static, KeyPair>);

impl Ca {
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Self(CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap())
    }

    /// The CA's own certificate, as PEM.
    pub(crate) fn pem(&self) -> String {
        self.0.pem()
    }

    /// A certificate for `names` and its key: (certificate PEM, key PEM, certificate DER).
    pub(crate) fn leaf(&self, names: &[&str]) -> (String, String, CertificateDer<'static>) {
        self.leaf_until(names, None)
    }

    /// [`Ca::leaf`], expiring at `not_after` when given.
    pub(crate) fn leaf_until(
        &self,
        names: &[&str],
        not_after: Option<time::OffsetDateTime>,
    ) -> (String, String, CertificateDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        if let Some(t) = not_after {
            params.not_after = t;
        }
        let cert = params.signed_by(&key, &self.0).unwrap();
        (cert.pem(), key.serialize_pem(), cert.der().clone())
    }

    /// A certificate for `localhost`, written as `cert.pem`/`key.pem` in `dir`; its DER.
    fn issue(&self, dir: &Path) -> CertificateDer<'static> {
        let (cert, key, der) = self.leaf(&["localhost"]);
        // Written aside and renamed in, as certbot's symlink swap is atomic too.
        std::fs::write(dir.join("key.tmp"), key).unwrap();
        std::fs::write(dir.join("cert.tmp"), cert).unwrap();
        std::fs::rename(dir.join("key.tmp"), dir.join("key.pem")).unwrap();
        std::fs::rename(dir.join("cert.tmp"), dir.join("cert.pem")).unwrap();
        der
    }

    fn connector(&self) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.0.der().clone()).unwrap();
        trusting(roots)
    }
}

/// A TLS client (ring) that trusts only `roots`.
pub(crate) fn trusting(roots: rustls::RootCertStore) -> TlsConnector {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn connect(tls: &TlsConnector, url: &str) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(url.trim_start_matches("https://"))
        .await
        .unwrap();
    tls.connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the CA's certificate verifies")
}

fn presented(s: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    s.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// One keep-alive request on the connection; the status.
async fn health(s: &mut TlsStream<TcpStream>) -> u16 {
    s.write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap();
            if got.len() >= end + 4 + len {
                return text.split_whitespace().nth(1).unwrap().parse().unwrap();
            }
        }
    }
}

/// A platform admin of the running server (signed up, promoted from the machine).
struct Admin {
    http: reqwest::Client,
    base: String,
    access: String,
}

impl Admin {
    async fn new(dir: &Path, base: &str) -> Self {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let (email, password) = ("root@example.com", "correct horse battery staple");
        let body = json!({"email": email, "password": password, "name": "Root Admin"});
        let r = http
            .post(format!("{base}/api/auth/register"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let promoted = std::process::Command::new(env!("CARGO_BIN_EXE_bedrud"))
            .current_dir(dir)
            .args(["admin", "promote", "--email", email])
            .output()
            .unwrap();
        assert!(
            promoted.status.success(),
            "{}",
            String::from_utf8_lossy(&promoted.stderr)
        );
        let login = json!({"email": email, "password": password});
        let r: serde_json::Value = http
            .post(format!("{base}/api/auth/login"))
            .json(&login)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = r["tokens"]["accessToken"].as_str().unwrap().to_string();
        Self {
            http,
            base: base.to_string(),
            access,
        }
    }

    async fn cert_info(&self) -> (u16, serde_json::Value) {
        let r = self
            .http
            .get(format!("{}/api/admin/cert-info", self.base))
            .bearer_auth(&self.access)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn certificate_files_served_and_renewed_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new();
    let first = ca.issue(dir.path());
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let running = start(
        dir.path(),
        &[
            ("SERVER_CERT_FILE", cert.to_str().unwrap()),
            ("SERVER_KEY_FILE", key.to_str().unwrap()),
        ],
    );
    assert!(running.url.starts_with("https://"), "{}", running.url);
    let admin = Admin::new(dir.path(), &running.url).await;
    let info = admin.cert_info().await;
    assert_eq!(info.0, 200);
    assert_eq!(
        (&info.1["enabled"], &info.1["status"]),
        (&json!(true), &json!("valid")),
        "{}",
        info.1
    );
    assert!(info.1["daysRemaining"].as_i64().unwrap() > 30, "{}", info.1);
    let tls = ca.connector();
    let mut open = connect(&tls, &running.url).await;
    assert_eq!(presented(&open), first);
    assert_eq!(health(&mut open).await, 200);

    // certbot renews: new connections get the new certificate, the open one keeps working.
    let second = ca.issue(dir.path());
    let mut renewed = false;
    for _ in 0..200 {
        let s = connect(&tls, &running.url).await;
        if presented(&s) == second {
            renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        renewed,
        "the renewed certificate is served without a restart"
    );
    assert_eq!(
        health(&mut open).await,
        200,
        "an open connection is not dropped"
    );

    // A broken replacement: logged, and the current certificate stays.
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    let warned = (0..200).any(|_| {
        running
            .log
            .recv_timeout(Duration::from_millis(100))
            .is_ok_and(|l| l.contains("still serving the previous one"))
    });
    assert!(warned, "the bad file is reported");
    let s = connect(&tls, &running.url).await;
    assert_eq!(presented(&s), second);
    let info = admin.cert_info().await;
    assert_eq!(
        info.0, 503,
        "the console shows the files on disk are broken"
    );
    assert_eq!(info.1["status"], "error", "{}", info.1);
    running.terminate();
}

#[tokio::test]
async fn self_signed_certificate_made_once_served_at_api_cert_and_plain_http_redirects() {
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port().to_string();
    let env = [
        ("SERVER_ENABLE_TLS", "true"),
        ("SERVER_DOMAIN", "meet.example.test"),
        ("SERVER_HTTP_PORT", http_port.as_str()),
    ];
    let running = start(dir.path(), &env);
    let key = dir.path().join("data/tls/self-signed.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let made = std::fs::read(dir.path().join("data/tls/self-signed.crt")).unwrap();

    let addr: std::net::SocketAddr = running.url.trim_start_matches("https://").parse().unwrap();
    let insecure = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = insecure
        .get(format!("{}/api/cert", running.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-pem-file");
    let pem = r.bytes().await.unwrap();
    assert_eq!(&pem[..], &made[..]);
    // Trusting what /api/cert gave, a client verifies the server by its domain.
    let pinned = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .resolve("meet.example.test", addr)
        .build()
        .unwrap();
    let r = pinned
        .get(format!(
            "https://meet.example.test:{}/api/health",
            addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // The plain port redirects to the same path over HTTPS.
    let r = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{http_port}/m/standup?x=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(
        r.headers()["location"],
        format!("https://meet.example.test:{}/m/standup?x=1", addr.port())
    );
    running.terminate();

    // A restart keeps the certificate it made.
    let again = start(dir.path(), &env);
    assert_eq!(
        std::fs::read(dir.path().join("data/tls/self-signed.crt")).unwrap(),
        made
    );
    again.terminate();
}

#[tokio::test]
async fn api_cert_without_tls_is_a_404() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), &[]);
    let r = reqwest::get(format!("{}/api/cert", running.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "TLS not enabled");
    running.terminate();
}
