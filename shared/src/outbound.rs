//! Outbound HTTP (LiveKit's server API, sign-in providers) on the hyper stack the AWS SDK's
//! client already links (hyper, rustls on ring, the system's roots): a second HTTP client
//! library would cost every function about half a megabyte.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

type Pooled = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pooled client. Built on its first request, not at a function's init: reading the
/// system's root certificates costs milliseconds that a cold start spends before it can
/// answer anything, and many invocations never call out.
#[derive(Clone)]
pub(crate) struct Http {
    client: Arc<std::sync::OnceLock<Result<Pooled, String>>>,
    skip_tls_verify: bool,
    connect_timeout: Duration,
}

/// A complete answer: status and body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Http {
    /// `skip_tls_verify` accepts any certificate (self-signed appliances), never the default.
    pub fn new(skip_tls_verify: bool, connect_timeout: Duration) -> Self {
        Self {
            client: Arc::default(),
            skip_tls_verify,
            connect_timeout,
        }
    }

    fn pooled(&self) -> Result<&Pooled, String> {
        self.client
            .get_or_init(|| build(self.skip_tls_verify, self.connect_timeout))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Sends one request and reads the whole answer within `timeout`; the error says what
    /// failed in words (timed out, refused, TLS), without repeating the URL.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(header::HeaderName, &str)],
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let mut req = Request::builder().method(method).uri(url);
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("bad request: {e}"))?;
        let exchange = async {
            let res = self
                .pooled()?
                .request(req)
                .await
                .map_err(|e| describe(&e))?;
            let status = res.status().as_u16();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
    }
}

/// A pooled HTTP/1.1 client with request bodies of type `B`: rustls on ring with the system's
/// roots, or any certificate when `skip_tls_verify`. The AWS SDK's connector uses it too
/// (`crate::aws`), so every function has one HTTPS stack and no HTTP/2.
pub(crate) fn build<B>(
    skip_tls_verify: bool,
    connect_timeout: Duration,
) -> Result<Client<HttpsConnector<HttpConnector>, B>, String>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS settings: {e}"))?;
    let tls = if skip_tls_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()
    } else {
        builder
            .with_native_roots()
            .map_err(|e| format!("the system's root certificates: {e}"))?
            .with_no_client_auth()
    };
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(connect_timeout));
    tcp.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn describe(e: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    if e.is_connect() {
        let cause = e.source().map(|s| s.to_string()).unwrap_or_default();
        format!("connection refused or failed {cause}")
            .trim_end()
            .into()
    } else {
        let cause = e.source().map(|s| format!(": {s}")).unwrap_or_default();
        format!("transport error{cause}")
    }
}

/// `skipTLSVerify`: any certificate is accepted, but the handshake's signatures are still
/// checked, so the peer holds the key of the certificate it showed.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
