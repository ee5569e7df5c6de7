//! Certificates from an ACME CA (Let's Encrypt, Bedrud's `server.useACME`): HTTP-01 answered
//! on `server.httpPort`, the account and the certificate kept under `<data>/acme/`, renewed
//! 30 days before expiry. The TLS listener serves a self-signed placeholder until the first
//! certificate is issued, then picks each new one up as it does certbot's files.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bedrud_shared::config::Config;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use tracing::{info, warn};

use crate::tls::{Tls, validity, write_private};

/// Renew when the certificate has less than this left, or less than a third of its lifetime
/// for short-lived ones (Let's Encrypt's advice: a third; 30 of its 90 days).
const RENEW_BEFORE: i64 = 30 * 24 * 3600;
/// How often the expiry is looked at once a certificate is in place.
const CHECK_EVERY: Duration = Duration::from_secs(12 * 3600);
/// First wait after a failed order, doubled on each failure up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(60);
const RETRY_MAX: Duration = Duration::from_secs(3600);

/// Where the ACME certificate and key live (the TLS listener watches these files).
pub fn files(config: &Config) -> (PathBuf, PathBuf) {
    let dir = dir(config);
    (dir.join("cert.pem"), dir.join("key.pem"))
}

fn dir(config: &Config) -> PathBuf {
    config.database.data_dir().join("acme")
}

/// Whether certificates come from ACME: TLS on, `useACME`, and no certificate files (which
/// win, as in Bedrud).
pub fn wanted(config: &Config) -> bool {
    let s = &config.server;
    s.enable_tls && s.use_acme && s.cert_file.is_none() && s.key_file.is_none()
}

/// HTTP-01 answers being offered: token → key authorization.
#[derive(Clone, Default)]
pub struct Challenges(Arc<RwLock<HashMap<String, String>>>);

impl Challenges {
    fn set(&self, token: &str, answer: Option<String>) {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        match answer {
            Some(a) => map.insert(token.to_string(), a),
            None => map.remove(token),
        };
    }
}

/// `GET /.well-known/acme-challenge/{token}` on the plain-HTTP port.
pub async fn answer(State(c): State<Challenges>, UrlPath(token): UrlPath<String>) -> Response {
    let found =
        c.0.read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&token)
            .cloned();
    match found {
        Some(a) => ([(axum::http::header::CONTENT_TYPE, "text/plain")], a).into_response(),
        None => (StatusCode::NOT_FOUND, "no such challenge").into_response(),
    }
}

/// The ACME side of one server: its settings and the answers it is offering.
pub struct Acme {
    domain: String,
    email: Option<String>,
    directory: String,
    ca_root: Option<PathBuf>,
    dir: PathBuf,
    /// The certificate and key it writes (the TLS listener's files).
    cert: PathBuf,
    key: PathBuf,
    challenges: Challenges,
}

impl Acme {
    pub fn new(config: &Config, challenges: Challenges) -> Self {
        let s = &config.server;
        let (cert, key) = files(config);
        Self {
            domain: s.domain.clone().unwrap_or_default(),
            email: s.email.clone(),
            directory: s.acme.directory.clone(),
            ca_root: s.acme.ca_root.clone(),
            dir: dir(config),
            cert,
            key,
            challenges,
        }
    }

    /// Keeps a valid certificate in place for as long as the server runs: orders one when
    /// there is none or it expires within 30 days, retries failures with a growing wait, and
    /// has `tls` load each new one.
    pub async fn keep(self, tls: Tls) {
        let mut retry = RETRY_FIRST;
        loop {
            let due =
                validity(&self.cert).map(|(from, to)| to - ((to - from) / 3).min(RENEW_BEFORE));
            let wait = match due.map(|due| due - bedrud_shared::domain::now()) {
                Ok(until_due) if until_due > 0 => {
                    Duration::from_secs(until_due as u64).min(CHECK_EVERY)
                }
                _ => match self.order().await {
                    Ok(()) => {
                        info!(domain = %self.domain, cert = %self.cert.display(), "ACME certificate issued");
                        tls.reload();
                        retry = RETRY_FIRST;
                        continue;
                    }
                    Err(e) => {
                        warn!(
                            domain = %self.domain, error = %e, retry_in_s = retry.as_secs(),
                            "ACME certificate order failed; still serving the current certificate"
                        );
                        let wait = retry;
                        retry = (retry * 2).min(RETRY_MAX);
                        wait
                    }
                },
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// One order, start to finish: account, HTTP-01 for the domain, key and certificate
    /// written (key first: the pair loads once the certificate lands).
    async fn order(&self) -> Result<(), String> {
        let account = self.account().await?;
        let ids = [Identifier::Dns(self.domain.clone())];
        let mut order = account
            .new_order(&NewOrder::new(&ids))
            .await
            .map_err(|e| format!("new order at {}: {e}", self.directory))?;
        let mut offered = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(|e| format!("authorization: {e}"))?;
            if authz.status != AuthorizationStatus::Pending {
                continue;
            }
            let mut challenge = authz
                .challenge(ChallengeType::Http01)
                .ok_or("the CA offers no http-01 challenge")?;
            let answer = challenge.key_authorization().as_str().to_string();
            self.challenges.set(&challenge.token, Some(answer));
            offered.push(challenge.token.clone());
            challenge
                .set_ready()
                .await
                .map_err(|e| format!("challenge: {e}"))?;
        }
        let retries = RetryPolicy::new().timeout(Duration::from_secs(120));
        let status = order.poll_ready(&retries).await;
        for token in &offered {
            self.challenges.set(token, None);
        }
        match status.map_err(|e| format!("validation: {e}"))? {
            OrderStatus::Ready => {}
            other => {
                return Err(format!(
                    "the CA did not validate http://{}/.well-known/acme-challenge/ ({other:?}): \
                     is server.httpPort reachable from the Internet as port 80?",
                    self.domain
                ));
            }
        }
        let private = order
            .finalize()
            .await
            .map_err(|e| format!("finalize: {e}"))?;
        let chain = order
            .poll_certificate(&retries)
            .await
            .map_err(|e| format!("certificate: {e}"))?;
        write_private(&self.key, private.as_bytes())?;
        write_private(&self.cert, chain.as_bytes())
    }

    /// The account stored under the data directory, or a new one registered (and stored).
    async fn account(&self) -> Result<Account, String> {
        let builder = match &self.ca_root {
            Some(root) => Account::builder_with_root(root),
            None => Account::builder(),
        }
        .map_err(|e| format!("ACME client: {e}"))?;
        let stored = self.dir.join("account.json");
        if let Ok(text) = std::fs::read_to_string(&stored) {
            let creds: AccountCredentials =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", stored.display()))?;
            return builder
                .from_credentials(creds)
                .await
                .map_err(|e| format!("ACME account from {}: {e}", stored.display()));
        }
        let contact = self.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, creds) = builder
            .create(
                &NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.directory.clone(),
                None,
            )
            .await
            .map_err(|e| format!("ACME account at {}: {e}", self.directory))?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let text = serde_json::to_string(&creds).map_err(|e| e.to_string())?;
        write_private(&stored, text.as_bytes())?;
        info!(directory = %self.directory, "ACME account registered");
        Ok(account)
    }
}
