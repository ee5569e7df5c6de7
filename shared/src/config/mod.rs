//! Configuration: `config.yaml` (Bedrud's keys) then environment overrides, validated once at
//! start so a bad deployment fails with one line that names the key and the fix.

mod bedrud;
mod cors;
mod dev_secrets;
mod email;
mod env;
mod oauth;
mod secret;
mod ttl;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;

pub use cors::CorsConfig;
pub use dev_secrets::{DevSecrets, fill_dev_secrets};
pub use email::{EmailConfig, MailProvider, SmtpTls};
pub use oauth::OAuthClient;
pub use secret::Secret;
pub use ttl::Ttl;

use secret::{blank_is_none, empty_is_none};

/// Shortest LiveKit API secret LiveKit itself accepts for HS256 signing.
pub const MIN_LIVEKIT_SECRET: usize = 32;
/// Shortest `auth.jwtSecret`: 256 bits of entropy for HS256.
pub const MIN_JWT_SECRET: usize = 32;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub livekit: LiveKitConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub logger: LoggerConfig,
    pub recordings: RecordingsConfig,
    pub email: EmailConfig,
    pub cors: CorsConfig,
    /// Bedrud's `recording:` block, folded into `recordings` at load.
    #[cfg(feature = "embedded")]
    pub recording: Option<bedrud::BedrudRecording>,
    /// The Redis the embedded LiveKit shares with its egress workers (recording needs it).
    #[cfg(feature = "embedded")]
    pub redis: RedisConfig,
    /// The LiveKit egress worker `bedrud run` supervises beside the embedded LiveKit.
    #[cfg(feature = "embedded")]
    pub egress: EgressConfig,
    /// `/metrics` (Prometheus) on `bedrud run`.
    #[cfg(feature = "embedded")]
    pub metrics: MetricsConfig,
    /// `log.format`, another spelling of `logger.format`, folded into it at load.
    #[cfg(feature = "embedded")]
    pub log: Option<LogAlias>,
}

/// `log:`: only `format`, the same as `logger.format`.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogAlias {
    pub format: Option<LogFormat>,
}

/// `metrics:`: off by default. On its own loopback address (`listen`, no token), or on the
/// API port behind `token`: never open on the public port.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// `host:port` of a separate listener, e.g. `127.0.0.1:9090`.
    #[serde(deserialize_with = "blank_is_none")]
    pub listen: Option<String>,
    /// Bearer token for `/metrics` on the API port.
    #[serde(deserialize_with = "empty_is_none")]
    pub token: Option<Secret>,
}

/// `redis:`, handed to the embedded LiveKit as its `redis:` block. LiveKit without Redis
/// refuses every egress request ("permission denied"), so recording on a VM needs it. With
/// no `address`, `bedrud run` starts a private `redis-server` when recordings are on.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RedisConfig {
    /// `host:port` of a Redis someone else runs.
    #[serde(deserialize_with = "blank_is_none")]
    pub address: Option<String>,
    /// The `redis-server` to start (else `REDIS_BIN`, else PATH).
    pub binary_path: Option<PathBuf>,
    /// Its loopback port (not 6379, which a system Redis may hold); 0 picks a free one.
    pub port: u16,
    #[serde(deserialize_with = "blank_is_none")]
    pub username: Option<String>,
    #[serde(deserialize_with = "empty_is_none")]
    pub password: Option<Secret>,
    pub db: u32,
    #[serde(rename = "useTLS")]
    pub use_tls: bool,
}

/// `egress:`: LiveKit's egress worker, which records. `bedrud run` starts it with a generated
/// config (or `configPath` as is) unless `external` says one runs elsewhere.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EgressConfig {
    /// The `egress` executable (else `EGRESS_BIN`, else PATH).
    pub binary_path: Option<PathBuf>,
    /// An egress config file used as is instead of the generated one.
    pub config_path: Option<PathBuf>,
    /// A worker run elsewhere serves this LiveKit: nothing is started or checked here.
    pub external: bool,
    /// The worker's health port (it listens on every interface); 0 picks a free one.
    pub health_port: u16,
    /// Its Prometheus metrics port (0: none).
    pub prometheus_port: u16,
}

#[cfg(feature = "embedded")]
impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            address: None,
            binary_path: None,
            port: 6380,
            username: None,
            password: None,
            db: 0,
            use_tls: false,
        }
    }
}

#[cfg(feature = "embedded")]
impl Default for EgressConfig {
    fn default() -> Self {
        Self {
            binary_path: None,
            config_path: None,
            external: false,
            health_port: 7982,
            prometheus_port: 0,
        }
    }
}

/// `recordings:`. Off unless enabled (Bedrud's default). Files go to S3 when a bucket is
/// named (`BUCKET_NAME`; required with an external LiveKit, whose egress workers cannot write
/// to our disk), else to `dir`, where an embedded LiveKit's egress writes them too.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecordingsConfig {
    pub enabled: bool,
    pub dir: PathBuf,
    /// Recordings bucket (`BUCKET_NAME`).
    #[serde(deserialize_with = "blank_is_none")]
    pub bucket: Option<String>,
    /// The bucket's region, for the egress upload (`AWS_REGION`).
    #[serde(deserialize_with = "blank_is_none")]
    pub region: Option<String>,
    /// S3 endpoint the egress worker uploads to, for S3-compatible stores
    /// (`RECORDINGS_S3_ENDPOINT`); unset means AWS.
    #[serde(deserialize_with = "blank_is_none")]
    pub endpoint: Option<String>,
    pub force_path_style: bool,
    /// Credentials LiveKit's egress uploads with (`RECORDINGS_S3_ACCESS_KEY`,
    /// `RECORDINGS_S3_SECRET`): LiveKit Cloud needs them; a self-hosted egress worker may use
    /// its own (left unset).
    #[serde(deserialize_with = "blank_is_none")]
    pub access_key: Option<String>,
    #[serde(deserialize_with = "empty_is_none")]
    pub secret: Option<Secret>,
    /// The processing queue (`QUEUE_URL`); the sidecar uses its embedded job table.
    #[serde(deserialize_with = "blank_is_none")]
    pub queue_url: Option<String>,
    /// Recordings one room may hold (0 = no cap); persistent rooms are exempt (Bedrud's
    /// `recording.maxRecordingsPerRoom`).
    pub max_per_room: u32,
    /// Hours a finished recording is kept once its room is archived (0: for ever; Bedrud's
    /// `recording.retentionHours`). Enforced by `bedrud run`.
    pub retention_hours: u32,
    /// How often retention runs, in hours (Bedrud's `recording.cleanupIntervalHours`).
    pub cleanup_interval_hours: u32,
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dir: PathBuf::from("data/recordings"),
            bucket: None,
            region: None,
            endpoint: None,
            force_path_style: false,
            access_key: None,
            secret: None,
            queue_url: None,
            max_per_room: 0,
            retention_hours: 0,
            cleanup_interval_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerConfig {
    /// Bind address. Loopback by default: exposing the API is an explicit choice.
    pub host: String,
    /// Listen port; 0 picks a free port. Bedrud writes it quoted.
    #[serde(deserialize_with = "bedrud::port")]
    pub port: u16,
    /// Shown to clients as `serverName`.
    pub name: String,
    #[serde(rename = "enableTLS")]
    pub enable_tls: bool,
    /// The server's TLS certificate and key (PEM); the embedded LiveKit's TURN/TLS uses them too.
    #[serde(deserialize_with = "blank_is_none")]
    pub cert_file: Option<PathBuf>,
    #[serde(deserialize_with = "blank_is_none")]
    pub key_file: Option<PathBuf>,
    /// The public name clients reach this server by (TURN's domain when TLS is on).
    #[serde(deserialize_with = "blank_is_none")]
    pub domain: Option<String>,
    pub behind_proxy: bool,
    /// Proxies whose `X-Forwarded-For` is believed (IPs or CIDRs).
    pub trusted_proxies: Vec<String>,
    /// Largest request body accepted, in bytes (larger → 413).
    pub max_body_bytes: usize,
    /// Highest `maxParticipants` a room may ask for (Bedrud's key).
    pub max_participants_limit: u32,
    /// Active rooms one user may own at once; admins are exempt (Bedrud's key).
    pub max_rooms_per_user: u32,
    /// Time a client has to send a request's headers, from its first byte or, on a
    /// keep-alive connection, from the end of the previous response (so it also closes idle
    /// connections).
    pub header_timeout: Ttl,
    /// Time a request may take once its headers are in, body included (408 after).
    pub request_timeout: Ttl,
    /// Open connections in all; more are closed at once.
    pub max_connections: usize,
    /// Open connections per client address (trusted proxies are exempt).
    pub max_connections_per_client: usize,
    /// How long an instance trusts the runtime settings it read (every Lambda sees an
    /// admin's change within this).
    #[serde(rename = "settingsCacheTTL")]
    pub settings_cache_ttl: Ttl,
    /// A built single-page web app `bedrud run` serves beside the API (Bedrud's `frontend`
    /// build). The appliance's key only: the functions never link it.
    #[cfg(feature = "embedded")]
    #[serde(deserialize_with = "blank_is_none")]
    pub web_dir: Option<PathBuf>,
    /// With HTTPS on: a plain-HTTP port that redirects (308) to it (Bedrud's key).
    #[cfg(feature = "embedded")]
    #[serde(deserialize_with = "bedrud::opt_port")]
    pub http_port: Option<u16>,
    /// Certificates for `domain` from an ACME CA (Let's Encrypt) by HTTP-01 on `httpPort`
    /// (Bedrud's key). Certificate files, when given, win (as in Bedrud).
    #[cfg(feature = "embedded")]
    #[serde(rename = "useACME")]
    pub use_acme: bool,
    /// The ACME account's contact address (Bedrud's key).
    #[cfg(feature = "embedded")]
    #[serde(deserialize_with = "blank_is_none")]
    pub email: Option<String>,
    #[cfg(feature = "embedded")]
    pub acme: AcmeConfig,
}

/// `server.acme`: which CA and challenge. Bedrud's `dnsProvider`/`cloudflareAPIToken` (its
/// DNS-01) are not implemented: HTTP-01 is.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AcmeConfig {
    /// `http-01` (Bedrud's default; the only one served).
    pub challenge: String,
    /// The CA's ACME directory URL (Let's Encrypt's production one by default).
    pub directory: String,
    /// A PEM root the CA's API is verified against instead of the system's (a private or
    /// test CA).
    #[serde(deserialize_with = "blank_is_none")]
    pub ca_root: Option<PathBuf>,
}

#[cfg(feature = "embedded")]
impl Default for AcmeConfig {
    fn default() -> Self {
        Self {
            challenge: "http-01".into(),
            directory: "https://acme-v02.api.letsencrypt.org/directory".into(),
            ca_root: None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8090,
            name: "Bedrud".into(),
            enable_tls: false,
            cert_file: None,
            key_file: None,
            domain: None,
            behind_proxy: false,
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            max_participants_limit: 1000,
            max_rooms_per_user: 100,
            header_timeout: Ttl::from_secs(10),
            request_timeout: Ttl::from_secs(30),
            max_connections: 10_000,
            max_connections_per_client: 256,
            settings_cache_ttl: Ttl::from_secs(5),
            #[cfg(feature = "embedded")]
            web_dir: None,
            #[cfg(feature = "embedded")]
            http_port: None,
            #[cfg(feature = "embedded")]
            use_acme: false,
            #[cfg(feature = "embedded")]
            email: None,
            #[cfg(feature = "embedded")]
            acme: AcmeConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Cookies carry `Secure` whenever clients reach us over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.enable_tls || self.behind_proxy
    }

    /// Parsed `trustedProxies` (validated at load, so parse failures are impossible here).
    pub fn trusted_proxy_nets(&self) -> Vec<IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| parse_net(p))
            .collect()
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DatabaseConfig {
    /// `sqlite` (embedded, default) or `dynamodb` (AWS; `TABLE_NAME` selects it).
    #[serde(rename = "type")]
    pub kind: DatabaseKind,
    pub path: PathBuf,
    /// DynamoDB table name (`TABLE_NAME`).
    #[serde(deserialize_with = "blank_is_none")]
    pub table: Option<String>,
}

/// Which store a process runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// The embedded SQLite file (the sidecar, local use).
    #[default]
    Sqlite,
    /// A DynamoDB table (the Lambda functions).
    #[serde(rename = "dynamodb")]
    DynamoDb,
}

impl DatabaseKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sqlite" => Some(Self::Sqlite),
            "dynamodb" => Some(Self::DynamoDb),
            _ => None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            kind: DatabaseKind::Sqlite,
            path: PathBuf::from("data/bedrud.db"),
            table: None,
        }
    }
}

impl DatabaseConfig {
    /// Directory holding the database and anything generated beside it (dev secrets).
    pub fn data_dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// The `livekit:` block: Bedrud's keys, plus the embedded-mode ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LiveKitConfig {
    pub host: String,
    #[serde(deserialize_with = "blank_is_none")]
    pub internal_host: Option<String>,
    #[serde(deserialize_with = "blank_is_none")]
    pub api_key: Option<String>,
    #[serde(deserialize_with = "empty_is_none")]
    pub api_secret: Option<Secret>,
    pub external: bool,
    #[serde(rename = "skipTLSVerify")]
    pub skip_tls_verify: bool,
    #[serde(deserialize_with = "blank_is_none")]
    pub config_path: Option<PathBuf>,
    /// The `livekit-server` executable for the embedded mode (else `LIVEKIT_BIN`, else PATH).
    #[serde(deserialize_with = "blank_is_none")]
    pub binary_path: Option<PathBuf>,
    #[serde(rename = "nodeIP", deserialize_with = "blank_is_none")]
    pub node_ip: Option<String>,
    pub port: u16,
    /// Lifetime of join tokens. Short, because a kicked user can reconnect with an unexpired
    /// token on self-hosted LiveKit; clients renew through `/api/room/refresh-token`.
    #[serde(rename = "tokenTTL")]
    pub token_ttl: Ttl,
    /// Lets participants write their own metadata and name (the clients keep display name,
    /// avatar and deafen state there). Roles are never read back from it.
    pub allow_self_metadata: bool,
    /// Serve LiveKit's signalling at `/livekit` on our own port (Bedrud's one-origin
    /// layout): on by default in embedded mode, off for an external LiveKit.
    #[cfg(feature = "embedded")]
    pub proxy: Option<bool>,
    /// LiveKit runs on this machine under its own service (Bedrud's `LIVEKIT_MANAGED`):
    /// `bedrud run` does not start it, calls it at `internalHost`, and proxies `/livekit`.
    #[cfg(feature = "embedded")]
    pub managed: bool,
    /// The embedded LiveKit's own Prometheus port (its `prometheus_port`; 0: none).
    #[cfg(feature = "embedded")]
    pub prometheus_port: u16,
}

impl LiveKitConfig {
    /// Whether `bedrud run` proxies `/livekit/*` to LiveKit.
    #[cfg(feature = "embedded")]
    pub fn proxied(&self) -> bool {
        self.proxy.unwrap_or(!self.external)
    }

    /// The key pair, when one is configured (validation makes it both or neither).
    pub fn keys(&self) -> Option<(&str, &str)> {
        match (&self.api_key, &self.api_secret) {
            (Some(k), Some(s)) => Some((k, s.expose())),
            _ => None,
        }
    }
}

impl Default for LiveKitConfig {
    fn default() -> Self {
        Self {
            host: "ws://127.0.0.1:7880".into(),
            internal_host: None,
            api_key: None,
            api_secret: None,
            external: false,
            skip_tls_verify: false,
            config_path: None,
            binary_path: None,
            node_ip: None,
            port: 7880,
            token_ttl: Ttl::from_secs(15 * 60),
            allow_self_metadata: true,
            #[cfg(feature = "embedded")]
            proxy: None,
            #[cfg(feature = "embedded")]
            managed: false,
            #[cfg(feature = "embedded")]
            prometheus_port: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthConfig {
    /// HS256 key for API tokens.
    #[serde(deserialize_with = "empty_is_none")]
    pub jwt_secret: Option<Secret>,
    #[serde(rename = "accessTokenTTL")]
    pub access_token_ttl: Option<Ttl>,
    #[serde(rename = "refreshTokenTTL")]
    pub refresh_token_ttl: Ttl,
    /// Bedrud's access-token lifetime in hours; honoured when `accessTokenTTL` is unset.
    pub token_duration: Option<u64>,
    pub registration_enabled: bool,
    /// Registration needs an invite token (admins create them).
    pub token_registration_only: bool,
    pub guest_login_enabled: bool,
    /// Where the web app lives: links in mail point here (`/auth/verify?token=…`).
    #[serde(rename = "frontendURL", deserialize_with = "blank_is_none")]
    pub frontend_url: Option<String>,
    /// Accounts sign in only once their address is confirmed.
    pub require_email_verification: bool,
    /// A second verification or reset mail to one address waits this long (silently).
    pub verification_email_cooldown_mins: u64,
    #[serde(rename = "verificationTokenTTLHours")]
    pub verification_token_ttl_hours: u64,
    /// Sign-ups never confirmed are removed after this many hours; 0 keeps them.
    #[serde(rename = "unverifiedAccountTTLHours")]
    pub unverified_account_ttl_hours: u64,
    #[serde(rename = "resetTokenTTLHours")]
    pub reset_token_ttl_hours: u64,
    /// Passkeys' relying party (`auth.passkey.rpId`, `rpOrigins`).
    pub passkey: PasskeyConfig,
    /// Minutes a passkey ceremony may take between begin and finish.
    #[serde(rename = "passkeyChallengeTTL")]
    pub passkey_challenge_ttl: u64,
    /// Sign-in with Google (OpenID Connect), GitHub and X.
    pub google: OAuthClient,
    pub github: OAuthClient,
    pub twitter: OAuthClient,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl: None,
            refresh_token_ttl: Ttl::from_secs(7 * 24 * 3600),
            token_duration: None,
            registration_enabled: true,
            token_registration_only: false,
            guest_login_enabled: true,
            frontend_url: None,
            require_email_verification: false,
            verification_email_cooldown_mins: 2,
            verification_token_ttl_hours: 24,
            unverified_account_ttl_hours: 48,
            reset_token_ttl_hours: 1,
            passkey: PasskeyConfig::default(),
            passkey_challenge_ttl: 5,
            google: OAuthClient::default(),
            github: OAuthClient::default(),
            twitter: OAuthClient::default(),
        }
    }
}

/// The relying party passkeys are bound to. Unset, the id is the host of `server.domain`, else
/// of `auth.frontendURL`, and the origin is `auth.frontendURL`, else `https://<server.domain>`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasskeyConfig {
    #[serde(deserialize_with = "blank_is_none")]
    pub rp_id: Option<String>,
    pub rp_origins: Vec<String>,
}

/// Whether a URL is a web page's (`http`/`https`), not an app's own scheme.
pub fn is_web_url(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
}

impl AuthConfig {
    /// `frontendURL` when it is a web page: mailed links and passkeys need one. An app's own
    /// scheme (iOS's `bedrud://oauth`) only ends provider sign-in.
    pub fn web_frontend_url(&self) -> Option<&str> {
        self.frontend_url.as_deref().filter(|u| is_web_url(u))
    }

    /// `scheme://host[:port]` of `frontendURL`: where the web app's pages are (a provider
    /// sign-in lands on its `/auth/callback`) and the origin passkeys are made on.
    pub fn frontend_origin(&self) -> Option<&str> {
        let url = self.frontend_url.as_deref()?;
        let host_at = url.find("://").map_or(0, |i| i + 3);
        Some(match url[host_at..].find(['/', '?', '#']) {
            Some(end) => &url[..host_at + end],
            None => url,
        })
    }

    /// Access tokens are short-lived: 15 minutes unless configured.
    pub fn access_ttl(&self) -> Ttl {
        self.access_token_ttl
            .or_else(|| self.token_duration.map(|h| Ttl::from_secs(h * 3600)))
            .unwrap_or(Ttl::from_secs(15 * 60))
    }
}

/// Requests per window and client; `0` requests disables a limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimitConfig {
    pub auth_max_requests: u32,
    pub auth_window_secs: u64,
    pub guest_max_requests: u32,
    pub guest_window_secs: u64,
    /// Password attempts per account (login, password change), from any client.
    pub account_max_attempts: u32,
    pub account_window_secs: u64,
    /// Mail-sending requests (verification resend, forgot password) per client.
    pub auth_resend_max_requests: u32,
    pub auth_resend_window_secs: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            auth_max_requests: 10,
            auth_window_secs: 60,
            guest_max_requests: 5,
            guest_window_secs: 60,
            account_max_attempts: 10,
            account_window_secs: 900,
            auth_resend_max_requests: 3,
            auth_resend_window_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LoggerConfig {
    pub level: String,
    /// `json` or `text`; unset: JSON in Lambda and whenever stderr is not a terminal (a
    /// service manager's journal, a collector), readable text on a terminal.
    pub format: Option<LogFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Text,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "text" => Some(Self::Text),
            _ => None,
        }
    }
}

impl Default for LoggerConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: None,
        }
    }
}

/// Fewest distinct characters a JWT secret may have: `"a"` × 32 or a run of spaces is long
/// but guessable.
pub const MIN_JWT_SECRET_VARIETY: usize = 10;

/// Long enough and not trivially guessable (whitespace only, or a few characters repeated).
fn check_jwt_secret(secret: &str) -> Result<(), ConfigError> {
    const FIX: &str =
        "set a random secret (e.g. `openssl rand -base64 32`) in auth.jwtSecret or JWT_SECRET";
    if secret.len() < MIN_JWT_SECRET {
        return Err(ConfigError::new(
            "auth.jwtSecret",
            format!(
                "is {} characters; at least {MIN_JWT_SECRET} are required",
                secret.len()
            ),
            FIX,
        ));
    }
    let variety = secret
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<std::collections::HashSet<_>>()
        .len();
    if variety < MIN_JWT_SECRET_VARIETY {
        return Err(ConfigError::new(
            "auth.jwtSecret",
            format!(
                "has only {variety} distinct non-blank characters; at least \
                 {MIN_JWT_SECRET_VARIETY} are required (it looks guessable)"
            ),
            FIX,
        ));
    }
    Ok(())
}

/// A configuration problem, printed as one line: the key, what is wrong, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config: {key}: {problem}; {fix}")]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl ConfigError {
    pub fn new(key: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// A loaded configuration plus what the loader wants said once logging is up.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub source: Option<PathBuf>,
    /// Keys present in the file that Bedrud does not use (Bedrud configs carry many).
    pub ignored_keys: Vec<String>,
}

impl Config {
    /// Loads from `explicit`, else `CONFIG_PATH`, else `./config.yaml`, then applies the
    /// process environment. A missing default file means defaults; a missing file that was
    /// named explicitly is an error, because silently running on defaults hides a typo.
    pub fn load(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
        Self::load_with(explicit, &|k| std::env::var(k).ok())
    }

    /// [`Config::load`] with an injectable environment (tests).
    pub fn load_with(
        explicit: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Loaded, ConfigError> {
        let (path, named) = match (explicit, env("CONFIG_PATH")) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(p)) if !p.is_empty() => (PathBuf::from(p), true),
            _ => (PathBuf::from("config.yaml"), false),
        };
        let (mut config, ignored_keys, source) = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let (c, ignored) = Self::from_yaml(&text)?;
                (c, ignored, Some(path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
                (Config::default(), Vec::new(), None)
            }
            Err(e) => {
                return Err(ConfigError::new(
                    "--config",
                    format!("cannot read {}: {e}", path.display()),
                    "pass an existing file, or unset CONFIG_PATH to run on defaults",
                ));
            }
        };
        env::apply(&mut config, env)?;
        #[cfg(feature = "embedded")]
        if config.livekit.managed {
            // Someone else's LiveKit: external to us for starting and calling, still
            // proxied (it is on this machine, as in Bedrud's layout).
            config.livekit.external = true;
            config.livekit.proxy.get_or_insert(true);
        }
        config.validate()?;
        Ok(Loaded {
            config,
            source,
            ignored_keys,
        })
    }

    /// Defaults overlaid with the process environment, no file: how a Lambda is configured
    /// (its package holds only the binary, and the YAML parser stays out of it). Not yet
    /// validated: secrets may still be laid over it.
    pub fn from_env() -> Result<Config, ConfigError> {
        let mut config = Config::default();
        env::apply(&mut config, &|k| std::env::var(k).ok())?;
        Ok(config)
    }

    /// Parses YAML, collecting keys we do not use instead of refusing them.
    pub fn from_yaml(text: &str) -> Result<(Config, Vec<String>), ConfigError> {
        if text.trim().is_empty() {
            return Ok((Config::default(), Vec::new()));
        }
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let mut ignored = Vec::new();
        #[allow(unused_mut)]
        let mut config: Config =
            serde_ignored::deserialize(de, |path| ignored.push(path.to_string())).map_err(|e| {
                ConfigError::new(
                    "config.yaml",
                    e.to_string(),
                    "fix the value at that position (see README, Configuration)",
                )
            })?;
        if let Some(typo) = ignored.iter().find(|k| !bedrud::is_bedrud_key(k)) {
            return Err(ConfigError::new(
                typo,
                "is not a configuration key (neither ours nor Bedrud's)",
                "check its spelling and place against README, Configuration",
            ));
        }
        #[cfg(feature = "embedded")]
        if let Some(r) = config.recording.take() {
            ignored.extend(r.apply(&mut config.recordings));
        }
        #[cfg(feature = "embedded")]
        if let Some(format) = config.log.take().and_then(|l| l.format) {
            match config.logger.format {
                Some(other) if other != format => {
                    return Err(ConfigError::new(
                        "log.format",
                        "differs from logger.format",
                        "keep one of the two (they are the same setting)",
                    ));
                }
                _ => config.logger.format = Some(format),
            }
        }
        Ok((config, ignored))
    }

    /// Checks every rule a deployment needs before serving.
    /// `/metrics` is never open on the API port: a separate address, or a token.
    #[cfg(feature = "embedded")]
    fn check_metrics(&self) -> Result<(), ConfigError> {
        let m = &self.metrics;
        if let Some(listen) = m.listen.as_deref()
            && listen.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(ConfigError::new(
                "metrics.listen",
                format!("{listen:?} is not an address:port"),
                "use e.g. 127.0.0.1:9090 (METRICS_LISTEN)",
            ));
        }
        if m.enabled && m.listen.is_none() && m.token.is_none() {
            return Err(ConfigError::new(
                "metrics.token",
                "is required to serve /metrics on the API port",
                "set metrics.token (METRICS_TOKEN, e.g. `openssl rand -hex 24`) for Prometheus's bearer_token, or metrics.listen (METRICS_LISTEN) to serve it on a separate address such as 127.0.0.1:9090",
            ));
        }
        Ok(())
    }

    /// ACME as `bedrud run` serves it: HTTP-01, for `server.domain`.
    #[cfg(feature = "embedded")]
    fn check_acme(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if !s.use_acme || !s.enable_tls || s.cert_file.is_some() {
            return Ok(());
        }
        let challenge = s.acme.challenge.trim().to_ascii_lowercase();
        if !matches!(challenge.as_str(), "" | "http-01" | "http01" | "http") {
            return Err(ConfigError::new(
                "server.acme.challenge",
                format!("`{challenge}` is not served by bedrud run; HTTP-01 is"),
                "use http-01 (server.httpPort reachable as port 80), or certificate files",
            ));
        }
        if s.domain.is_none() {
            return Err(ConfigError::new(
                "server.domain",
                "is required when server.useACME is true: the certificate is for it",
                "set server.domain (SERVER_DOMAIN) to the public name clients use",
            ));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let lk = &self.livekit;
        if let Some(secret) = lk.api_secret.as_ref().map(Secret::expose)
            && secret.len() < MIN_LIVEKIT_SECRET
        {
            return Err(ConfigError::new(
                "livekit.apiSecret",
                format!(
                    "is {} characters; LiveKit needs at least {MIN_LIVEKIT_SECRET}",
                    secret.len()
                ),
                "set a longer secret (e.g. `openssl rand -base64 32`) in livekit.apiSecret or LIVEKIT_API_SECRET",
            ));
        }
        if lk.api_secret.is_none() != lk.api_key.is_none() {
            let (key, env) = if lk.api_key.is_none() {
                ("livekit.apiKey", "LIVEKIT_API_KEY")
            } else {
                ("livekit.apiSecret", "LIVEKIT_API_SECRET")
            };
            return Err(ConfigError::new(
                key,
                "is empty while its partner is set",
                format!("set both livekit.apiKey and livekit.apiSecret ({env})"),
            ));
        }
        if lk.external {
            for (key, missing, env) in [
                ("livekit.host", lk.host.trim().is_empty(), "LIVEKIT_HOST"),
                ("livekit.apiKey", lk.api_key.is_none(), "LIVEKIT_API_KEY"),
            ] {
                if missing {
                    return Err(ConfigError::new(
                        key,
                        "is required when livekit.external is true",
                        format!("set {key} or {env} to your LiveKit server's value"),
                    ));
                }
            }
        }
        let lk_ttl = lk.token_ttl.as_secs();
        if !(60..=24 * 3600).contains(&lk_ttl) {
            return Err(ConfigError::new(
                "livekit.tokenTTL",
                format!("is {lk_ttl}s; it must be between 1m and 24h"),
                "use a duration such as 15m",
            ));
        }
        if let Some(secret) = &self.auth.jwt_secret {
            check_jwt_secret(secret.expose())?;
        }
        let ttl = self.auth.access_ttl().as_secs();
        if !(30..=7 * 24 * 3600).contains(&ttl) {
            return Err(ConfigError::new(
                "auth.accessTokenTTL",
                format!("is {ttl}s; it must be between 30s and 7d"),
                "use a duration such as 15m",
            ));
        }
        if self.auth.refresh_token_ttl.as_secs() < ttl {
            return Err(ConfigError::new(
                "auth.refreshTokenTTL",
                "is shorter than the access-token lifetime",
                "use a duration such as 7d",
            ));
        }
        if self.database.kind == DatabaseKind::DynamoDb && self.database.table.is_none() {
            return Err(ConfigError::new(
                "database.table",
                "is required when database.type is dynamodb",
                "set TABLE_NAME to the DynamoDB table's name",
            ));
        }
        for p in &self.server.trusted_proxies {
            if parse_net(p).is_none() {
                return Err(ConfigError::new(
                    "server.trustedProxies",
                    format!("`{p}` is not an IP address or CIDR"),
                    "list addresses like 10.0.0.1 or 10.0.0.0/8",
                ));
            }
        }
        #[cfg(feature = "embedded")]
        self.check_acme()?;
        #[cfg(feature = "embedded")]
        self.check_metrics()?;
        if self.server.behind_proxy && self.server.trusted_proxies.is_empty() {
            return Err(ConfigError::new(
                "server.trustedProxies",
                "is empty while server.behindProxy is true, so any client could forge its address",
                "list your proxy's addresses in server.trustedProxies (SERVER_TRUSTED_PROXIES)",
            ));
        }
        for (key, t) in [
            ("server.headerTimeout", self.server.header_timeout),
            ("server.requestTimeout", self.server.request_timeout),
        ] {
            if !(1..=3600).contains(&t.as_secs()) {
                return Err(ConfigError::new(
                    key,
                    format!("is {t}; it must be between 1s and 1h"),
                    "use a duration such as 10s",
                ));
            }
        }
        for (key, n) in [
            ("server.maxConnections", self.server.max_connections),
            (
                "server.maxConnectionsPerClient",
                self.server.max_connections_per_client,
            ),
        ] {
            if n == 0 {
                return Err(ConfigError::new(
                    key,
                    "is 0, so no client could connect",
                    "use a value such as 10000 (maxConnections) or 256 (per client)",
                ));
            }
        }
        for (key, hours) in [
            (
                "auth.verificationTokenTTLHours",
                self.auth.verification_token_ttl_hours,
            ),
            ("auth.resetTokenTTLHours", self.auth.reset_token_ttl_hours),
        ] {
            if !(1..=24 * 30).contains(&hours) {
                return Err(ConfigError::new(
                    key,
                    format!("is {hours}; it must be between 1 and 720 hours"),
                    "use a value such as 24 (verification) or 1 (reset)",
                ));
            }
        }
        self.validate_email()?;
        self.cors.validate()?;
        if self.server.max_body_bytes < 1024 {
            return Err(ConfigError::new(
                "server.maxBodyBytes",
                format!(
                    "is {}; at least 1024 is required",
                    self.server.max_body_bytes
                ),
                "use a value such as 1048576",
            ));
        }
        Ok(())
    }

    /// LiveKit's key pair, or the error a function that mints or calls LiveKit fails with.
    pub fn require_livekit_keys(&self) -> Result<(&str, &str), ConfigError> {
        self.livekit.keys().ok_or_else(|| {
            ConfigError::new(
                "livekit.apiKey",
                "is not set",
                "set LIVEKIT_API_KEY and LIVEKIT_API_SECRET to your LiveKit server's key pair",
            )
        })
    }

    /// The secret for API tokens, or the error a serverless start must fail with (checked
    /// here too: on AWS it arrives from Secrets Manager after the configuration was read).
    pub fn require_jwt_secret(&self) -> Result<&str, ConfigError> {
        let secret = self.auth.jwt_secret.as_ref().ok_or_else(|| {
            ConfigError::new(
                "auth.jwtSecret",
                "is not set",
                "set JWT_SECRET (at least 32 random characters); only the local server generates one",
            )
        })?;
        check_jwt_secret(secret.expose())?;
        Ok(secret.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_ends_origin_drops_path_query_and_fragment() {
        for (front, origin) in [
            ("https://meet.example.com", "https://meet.example.com"),
            ("https://meet.example.com/", "https://meet.example.com"),
            (
                "https://meet.example.com:8443/app?x=1",
                "https://meet.example.com:8443",
            ),
            ("http://127.0.0.1:5173#top", "http://127.0.0.1:5173"),
        ] {
            let a = AuthConfig {
                frontend_url: Some(front.into()),
                ..AuthConfig::default()
            };
            assert_eq!(a.frontend_origin(), Some(origin));
        }
        assert_eq!(AuthConfig::default().frontend_origin(), None);
    }

    #[test]
    fn an_apps_scheme_is_no_web_front_end() {
        let app = AuthConfig {
            frontend_url: Some("bedrud://oauth".into()),
            ..AuthConfig::default()
        };
        assert_eq!(app.frontend_origin(), Some("bedrud://oauth"));
        assert_eq!(app.web_frontend_url(), None);
        for web in ["https://meet.example.com/app", "HTTP://127.0.0.1:5173"] {
            assert!(is_web_url(web), "{web}");
        }
        assert!(!is_web_url("bedrud://oauth") && !is_web_url("meet.example.com"));
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn missing_default_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let cwd_file = dir.path().join("nothing-here.yaml");
        let env = |k: &str| (k == "CONFIG_PATH").then(String::new);
        let loaded = Config::load_with(None, &env).unwrap();
        assert_eq!(loaded.config.server.port, 8090);
        assert!(Config::load_with(Some(&cwd_file), &no_env).is_err());
    }

    #[test]
    fn yaml_keys_and_ignored_keys() {
        let yaml = "server:\n  port: 9000\n  enableTLS: true\nlivekit:\n  apiKey: k\n  apiSecret: 0123456789abcdef0123456789abcdef\n  skipTLSVerify: true\n  nodeIP: 10.0.0.1\nauth:\n  sessionSecret: x\n  tokenDuration: 24\nwebxdc:\n  enabled: true\n";
        let (c, ignored) = Config::from_yaml(yaml).unwrap();
        assert_eq!(c.server.port, 9000);
        assert!(c.server.enable_tls && c.livekit.skip_tls_verify);
        assert_eq!(c.livekit.node_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(c.auth.access_ttl().as_secs(), 24 * 3600);
        assert_eq!(ignored, vec!["auth.sessionSecret", "webxdc"]);
        c.validate().unwrap();
    }

    #[test]
    fn log_format_is_logger_format() {
        let (c, _) = Config::from_yaml("log:\n  format: json\n").unwrap();
        assert_eq!(c.logger.format, Some(LogFormat::Json));
        let (c, _) = Config::from_yaml("log:\n  format: text\nlogger:\n  format: text\n").unwrap();
        assert_eq!(c.logger.format, Some(LogFormat::Text));
        let e = Config::from_yaml("log:\n  format: text\nlogger:\n  format: json\n").unwrap_err();
        assert!(e.to_string().contains("log.format"), "{e}");
        assert!(Config::from_yaml("log:\n  format: xml\n").is_err());
    }

    #[test]
    fn bedrud_installer_spellings() {
        let yaml = "server:\n  port: \"443\"\n  httpPort: \"80\"\n  readTimeout: 30\n  certAlgorithm: ed25519\nrecording:\n  storageDir: /var/lib/bedrud/recordings\n  maxRecordingsPerRoom: 5\n  retentionHours: 720\nchat:\n  maxMessageCount: 10000\n";
        let (c, ignored) = Config::from_yaml(yaml).unwrap();
        assert_eq!(c.server.port, 443);
        assert_eq!(c.server.http_port, Some(80));
        assert_eq!(
            c.recordings.dir,
            PathBuf::from("/var/lib/bedrud/recordings")
        );
        assert_eq!(c.recordings.max_per_room, 5);
        assert_eq!(c.recordings.retention_hours, 720);
        for key in ["server.readTimeout", "server.certAlgorithm", "chat"] {
            assert!(ignored.iter().any(|k| k == key), "{key} in {ignored:?}");
        }
        let err = Config::from_yaml("server:\n  port: \"https\"\n").unwrap_err();
        assert!(err.problem.contains("not a port number"), "{err}");
        let (c, _) = Config::from_yaml("server:\n  httpPort: \"\"\n").unwrap();
        assert_eq!(c.server.http_port, None);
    }

    #[test]
    fn bedruds_acme_keys_are_read_and_checked() {
        let yaml = "server:\n  enableTLS: true\n  useACME: true\n  domain: meet.example.com\n  email: ops@example.com\n  acme:\n    challenge: http-01\n    dnsProvider: cloudflare\n";
        let (c, ignored) = Config::from_yaml(yaml).unwrap();
        assert!(c.server.use_acme);
        assert_eq!(c.server.email.as_deref(), Some("ops@example.com"));
        assert_eq!(ignored, vec!["server.acme.dnsProvider"]);
        c.validate().unwrap();
        let (c, _) = Config::from_yaml(&yaml.replace("http-01", "dns-01")).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "server.acme.challenge");
        let (c, _) = Config::from_yaml(&yaml.replace("  domain: meet.example.com\n", "")).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "server.domain");
        // Certificate files win over ACME (as in Bedrud): no domain needed then.
        let files = "server:\n  enableTLS: true\n  useACME: true\n  acme:\n    challenge: dns-01\n  certFile: /etc/bedrud/cert.pem\n  keyFile: /etc/bedrud/key.pem\n";
        Config::from_yaml(files).unwrap().0.validate().unwrap();
    }

    #[test]
    fn a_key_neither_bedrud_nor_we_know_is_refused() {
        let err = Config::from_yaml("server:\n  prot: 8090\n").unwrap_err();
        assert_eq!(err.key, "server.prot", "{err}");
        let err = Config::from_yaml("livekit:\n  apiSecert: x\n").unwrap_err();
        assert_eq!(err.key, "livekit.apiSecert", "{err}");
    }

    #[test]
    fn livekit_managed_is_called_like_an_external_one_and_proxied() {
        let env = |k: &str| match k {
            "LIVEKIT_MANAGED" => Some("true".to_string()),
            "LIVEKIT_API_KEY" => Some("APIinstalled".to_string()),
            "LIVEKIT_API_SECRET" => Some("installed-secret-0123456789abcdef0123".to_string()),
            "CONFIG_PATH" => Some(String::new()),
            _ => None,
        };
        let c = Config::load_with(None, &env).unwrap().config;
        assert!(c.livekit.managed && c.livekit.external && c.livekit.proxied());
    }

    #[test]
    fn short_livekit_secret_names_key_and_fix() {
        let (c, _) = Config::from_yaml("livekit:\n  apiKey: k\n  apiSecret: short\n").unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("config: livekit.apiSecret: is 5 characters"),
            "{err}"
        );
        assert!(err.contains("LIVEKIT_API_SECRET"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported() {
        let err = Config::from_yaml("server:\n  port: lots\n").unwrap_err();
        assert!(err.problem.contains("server.port"), "{err}");
    }

    #[test]
    fn proxy_without_trusted_list_is_refused() {
        let (c, _) = Config::from_yaml("server:\n  behindProxy: true\n").unwrap();
        assert_eq!(c.validate().unwrap_err().key, "server.trustedProxies");
    }

    /// Every secret set to a recognisable value: none of them appears when the whole
    /// configuration is formatted (as a panic, a debug log or an error report would).
    #[test]
    fn secrets_never_print() {
        let mut c = Config::default();
        c.auth.jwt_secret = Some("jwt-SECRET-value-0123456789abcdefgh".into());
        c.livekit.api_key = Some("APIkey".into());
        c.livekit.api_secret = Some("livekit-SECRET-value-0123456789abcd".into());
        c.recordings.access_key = Some("AKIDEXAMPLE".into());
        c.recordings.secret = Some("s3-SECRET-value".into());
        let shown = format!("{c:?} {c:#?}");
        for secret in [
            "jwt-SECRET-value",
            "livekit-SECRET-value",
            "s3-SECRET-value",
        ] {
            assert!(!shown.contains(secret), "{secret} printed in {shown}");
        }
        assert!(shown.contains("Secret(••••••••)"));
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s} {s:?}"), "•••••••• Secret(••••••••)");
        assert_eq!(s.expose(), "hunter2-hunter2");
    }

    #[test]
    fn blank_values_are_unset_and_kinds_are_typed() {
        let yaml = "database:\n  type: dynamodb\n  table: bedrud\nlivekit:\n  internalHost: \"\"\n  nodeIP: \" \"\n";
        let (c, _) = Config::from_yaml(yaml).unwrap();
        assert_eq!(c.database.kind, DatabaseKind::DynamoDb);
        assert_eq!(c.database.table.as_deref(), Some("bedrud"));
        assert_eq!((c.livekit.internal_host, c.livekit.node_ip), (None, None));
        assert!(Config::from_yaml("database:\n  type: postgres\n").is_err());
    }

    #[test]
    fn trivial_jwt_secrets_are_refused() {
        for bad in [
            "a".repeat(32),
            " ".repeat(40),
            "abab".repeat(10),
            "0123456789".repeat(2),
        ] {
            let mut c = Config::default();
            c.auth.jwt_secret = Some(bad.clone().into());
            let err = c.validate().unwrap_err();
            assert_eq!(err.key, "auth.jwtSecret", "{bad:?}");
            assert!(err.fix.contains("openssl rand"), "{err}");
            assert_eq!(c.require_jwt_secret().unwrap_err().key, "auth.jwtSecret");
        }
        let mut c = Config::default();
        c.auth.jwt_secret = Some("k3Yb8Qz1-Xw7Vn2Lp9Rt4Hs6Jd0Mf5Ga".into());
        c.validate().unwrap();
        assert!(c.require_jwt_secret().is_ok());
    }

    #[test]
    fn jwt_secret_required_only_where_asked() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.require_jwt_secret().unwrap_err().key, "auth.jwtSecret");
    }
}
