//! Bedrud's `config.yaml` as its installer writes it: ports as quoted strings, its
//! `recording:` block, and the keys it has that we do not implement (accepted and named in one
//! warning). A key neither Bedrud nor we know is still refused, so typos stay caught.

use serde::{Deserialize, Deserializer, de::Error as _};

/// `server.port`: a number or, as Bedrud writes ports, a quoted number.
pub(super) fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    read_port(d, "server.port")?.ok_or_else(|| D::Error::custom("server.port: a port is required"))
}

/// `server.httpPort`, where empty means unset.
#[cfg(feature = "embedded")]
pub(super) fn opt_port<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    read_port(d, "server.httpPort")
}

/// The key is named in the message: the YAML error's own path stops at the section.
fn read_port<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<Option<u16>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    let bad = |v: &dyn std::fmt::Display| {
        D::Error::custom(format!("{key}: `{v}` is not a port number (0 to 65535)"))
    };
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => u16::try_from(n).map(Some).map_err(|_| bad(&n)),
        Some(Raw::Text(s)) if s.trim().is_empty() => Ok(None),
        Some(Raw::Text(s)) => s.trim().parse().map(Some).map_err(|_| bad(&s)),
    }
}

/// Bedrud's `recording:` block, read as our recording settings.
#[cfg(feature = "embedded")]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BedrudRecording {
    #[serde(rename = "maxFileSizeMB")]
    pub max_file_size_mb: Option<u64>,
    pub storage_dir: Option<String>,
    pub max_recordings_per_room: Option<u32>,
    pub retention_hours: Option<u32>,
    pub cleanup_interval_hours: Option<u32>,
}

/// Keys of Bedrud's configuration this server does not use (its struct tags, dotted; a key
/// covers everything under it). Present in a file, they are named in one warning. Keys we
/// read (`server.httpPort`, `recording`, …) are not listed: only an unused key reaches here.
const BEDRUD_ONLY: &[&str] = &[
    "server.readTimeout",
    "server.writeTimeout",
    "server.disableTLS",
    "server.acme.dnsProvider",
    "server.acme.cloudflareAPIToken",
    "server.proxyHeader",
    "server.certAlgorithm",
    "database.host",
    "database.port",
    "database.user",
    "database.password",
    "database.dbname",
    "database.sslmode",
    "database.maxIdleConns",
    "database.maxOpenConns",
    "database.maxLifetime",
    "database.dsn",
    "livekit.hostLocal",
    "auth.sessionSecret",
    "logger.outputPath",
    "cors.exposeHeaders",
    "chat",
    "queue",
    "webxdc",
    "rateLimit.apiMaxRequests",
    "rateLimit.apiWindowSecs",
    "email.templates",
];

/// Whether an unused key is one of Bedrud's (else it is a mistake).
pub(super) fn is_bedrud_key(path: &str) -> bool {
    BEDRUD_ONLY.iter().any(|k| {
        path.strip_prefix(k)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

#[cfg(feature = "embedded")]
impl BedrudRecording {
    /// Folds the block into our recording settings; returns the keys it held that this
    /// server does not apply (named in the start-up warning).
    pub(super) fn apply(self, rec: &mut super::RecordingsConfig) -> Vec<String> {
        if let Some(dir) = self.storage_dir.filter(|d| !d.trim().is_empty()) {
            rec.dir = dir.into();
        }
        if let Some(n) = self.max_recordings_per_room {
            rec.max_per_room = n;
        }
        let mut unused = Vec::new();
        if self.max_file_size_mb.is_some() {
            unused.push("recording.maxFileSizeMB".to_string());
        }
        if let Some(h) = self.retention_hours {
            rec.retention_hours = h;
        }
        if let Some(h) = self.cleanup_interval_hours.filter(|h| *h > 0) {
            rec.cleanup_interval_hours = h;
        }
        unused
    }
}
