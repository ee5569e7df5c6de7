//! HTTPS for the appliance, as Bedrud serves it: `server.certFile`/`keyFile` (certbot's files,
//! say), re-read when they change so a renewal needs no restart, or without files a self-signed
//! certificate for `server.domain` generated once and kept under the data directory.
//! rustls on ring (the one TLS stack), TLS 1.3 and 1.2, HTTP/1.1. A replacement that does not
//! load (half written, wrong key) leaves the current certificate serving and is logged once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bedrud_shared::config::Config;
use bedrud_shared::http::socket::Handshake;
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde_json::json;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tracing::{info, warn};

/// How often the certificate files are looked at (a stat of two files).
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The certificate being served, its chain as PEM (for `/api/cert`) and its expiry.
struct Current {
    key: Arc<CertifiedKey>,
    pem: String,
    not_after: i64,
}

/// What the admin console is told: the served certificate's expiry, and why the files on
/// disk do not load when they do not.
#[derive(Debug, Default)]
struct Shown {
    pem: String,
    not_after: i64,
    error: Option<String>,
}

/// The certificate store the TLS handshakes read; swapped whole on reload.
#[derive(Debug)]
struct Resolver(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(|p| p.into_inner()).clone())
    }
}

/// The server's TLS: the acceptor for the listener, and what `/api/cert` serves.
#[derive(Clone)]
pub struct Tls {
    acceptor: TlsAcceptor,
    resolver: Arc<Resolver>,
    shown: Arc<RwLock<Shown>>,
    cert: PathBuf,
    key: PathBuf,
}

impl Handshake for Tls {
    type Stream = TlsStream<TcpStream>;

    async fn handshake(&self, tcp: TcpStream) -> std::io::Result<Self::Stream> {
        self.acceptor.accept(tcp).await
    }
}

/// Whether `bedrud run` serves HTTPS: `enableTLS`, or certificate files given.
fn wanted(config: &Config) -> bool {
    let s = &config.server;
    s.enable_tls || s.cert_file.is_some() || s.key_file.is_some()
}

impl Tls {
    /// The configured certificate, or a self-signed one made (once) for this server. `None`
    /// when TLS is off.
    pub fn from_config(config: &Config) -> Result<Option<Self>, String> {
        if !wanted(config) {
            return Ok(None);
        }
        let s = &config.server;
        let (cert, key) = match (&s.cert_file, &s.key_file) {
            (Some(c), Some(k)) => (c.clone(), k.clone()),
            (None, None) if crate::acme::wanted(config) => crate::acme::files(config),
            (None, None) => self_signed(config)?,
            _ => {
                return Err(
                    "server.certFile and server.keyFile go together: set both, or neither for \
                     a self-signed certificate"
                        .into(),
                );
            }
        };
        let current = match load(&cert, &key) {
            Ok(current) => current,
            // Until the CA has issued one, a self-signed placeholder.
            Err(_) if crate::acme::wanted(config) && !cert.exists() => {
                let (c, k) = self_signed(config)?;
                load(&c, &k)?
            }
            Err(e) => return Err(e),
        };
        let resolver = Arc::new(Resolver(RwLock::new(current.key)));
        let mut tls =
            rustls::ServerConfig::builder_with_provider(Arc::new(provider::default_provider()))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_cert_resolver(resolver.clone());
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Self {
            acceptor: TlsAcceptor::from(Arc::new(tls)),
            resolver,
            shown: Arc::new(RwLock::new(Shown {
                pem: current.pem,
                not_after: current.not_after,
                error: None,
            })),
            cert,
            key,
        }))
    }

    /// The served certificate as the admin console reports it.
    pub fn report(&self) -> bedrud_shared::admin::CertificateReport {
        let shown = self.shown.read().unwrap_or_else(|p| p.into_inner());
        bedrud_shared::admin::CertificateReport {
            not_after: shown.not_after,
            error: shown.error.clone(),
        }
    }

    /// Re-reads the files whenever they change, for as long as the server runs.
    pub fn watch(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut seen = stamp(&me.cert, &me.key);
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let now = stamp(&me.cert, &me.key);
                if now != seen {
                    seen = now;
                    me.reload();
                }
            }
        });
    }

    /// Loads the files now: the new pair serves the next handshake, or, when it does not
    /// load, the current one stays and the reason is logged and shown.
    pub fn reload(&self) {
        match load(&self.cert, &self.key) {
            Ok(current) => {
                let mut shown = self.shown.write().unwrap_or_else(|p| p.into_inner());
                if shown.pem == current.pem && shown.error.is_none() {
                    return;
                }
                *self.resolver.0.write().unwrap_or_else(|p| p.into_inner()) = current.key;
                *shown = Shown {
                    pem: current.pem,
                    not_after: current.not_after,
                    error: None,
                };
                info!(cert = %self.cert.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                warn!(
                    error = %e,
                    "the new TLS certificate does not load; still serving the previous one"
                );
                self.shown.write().unwrap_or_else(|p| p.into_inner()).error = Some(e);
            }
        }
    }
}

/// What changes when certbot (or anyone) replaces the files: modification times and sizes.
fn stamp(cert: &Path, key: &Path) -> [Option<(SystemTime, u64)>; 2] {
    [cert, key].map(|p| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    })
}

fn load(cert: &Path, key: &Path) -> Result<Current, String> {
    let pem = std::fs::read_to_string(cert)
        .map_err(|e| format!("server.certFile {}: {e}", cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| {
            format!(
                "server.certFile {}: not PEM certificates: {e}",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "server.certFile {}: no certificate in it",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("server.keyFile {}: no PEM private key: {e}", key.display()))?;
    let signing = provider::sign::any_supported_type(&private)
        .map_err(|e| format!("server.keyFile {}: {e}", key.display()))?;
    let (_, not_after) =
        validity_of(&chain[0]).map_err(|e| format!("server.certFile {}: {e}", cert.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        format!(
            "server.certFile and server.keyFile do not belong together ({e}): {} / {}",
            cert.display(),
            key.display()
        )
    })?;
    Ok(Current {
        key: Arc::new(certified),
        pem,
        not_after,
    })
}

/// When a DER certificate became valid and when it expires (Unix seconds).
fn validity_of(der: &[u8]) -> Result<(i64, i64), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let v = cert.validity();
    Ok((v.not_before.timestamp(), v.not_after.timestamp()))
}

/// [`validity_of`] the first certificate in a PEM file.
pub(crate) fn validity(cert: &Path) -> Result<(i64, i64), String> {
    let der = CertificateDer::from_pem_file(cert)
        .map_err(|e| format!("{}: no PEM certificate: {e}", cert.display()))?;
    validity_of(&der).map_err(|e| format!("{}: {e}", cert.display()))
}

/// The self-signed pair under `<data>/tls/`, made on first use for `server.domain` (else
/// `server.host`) and `localhost`, the key readable by this user only.
fn self_signed(config: &Config) -> Result<(PathBuf, PathBuf), String> {
    let dir = config.database.data_dir().join("tls");
    let (cert, key) = (dir.join("self-signed.crt"), dir.join("self-signed.key"));
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    let mut names = vec!["localhost".to_string()];
    names.extend(config.server.domain.clone());
    let host = &config.server.host;
    if !host.is_empty() && host != "0.0.0.0" && host != "::" && !names.contains(host) {
        names.push(host.clone());
    }
    let made = rcgen::generate_simple_self_signed(names.clone())
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    write_private(&cert, made.cert.pem().as_bytes())?;
    info!(cert = %cert.display(), names = ?names, "generated a self-signed TLS certificate");
    Ok((cert, key))
}

/// Writes a file only this user can read, whole or not at all (a temporary file renamed
/// over it), so a reader never sees half of a key or certificate.
pub(crate) fn write_private(path: &Path, body: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(body).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// `GET /api/cert`: the certificate being served, as PEM (Bedrud's route; clients pin or
/// trust a self-signed one with it). 404 when TLS is off.
pub async fn cert_route(State(tls): State<Option<Tls>>, req: Request, next: Next) -> Response {
    if req.uri().path() != "/api/cert" || req.method() != axum::http::Method::GET {
        return next.run(req).await;
    }
    match tls {
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "TLS not enabled" })),
        )
            .into_response(),
        Some(tls) => {
            let pem = tls
                .shown
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .pem
                .clone();
            (
                [
                    (header::CONTENT_TYPE, "application/x-pem-file"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=bedrud-cert.pem",
                    ),
                ],
                pem,
            )
                .into_response()
        }
    }
}
