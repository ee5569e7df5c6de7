//! `cors:` (Bedrud's keys): which other origins' web apps may call the API from a browser.
//! Off by default: the web app is served from the API's own origin.

use serde::Deserialize;

use super::{ConfigError, Ttl};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CorsConfig {
    /// Origins allowed to call the API (`https://app.example.com`), or `*` (not with
    /// credentials). Empty: CORS off. A list, or Bedrud's comma-separated string.
    #[serde(deserialize_with = "list")]
    pub allowed_origins: Vec<String>,
    /// Request headers a browser may send; empty: `Content-Type` and `Authorization`.
    #[serde(deserialize_with = "list")]
    pub allowed_headers: Vec<String>,
    /// Methods; empty: those the API uses.
    #[serde(deserialize_with = "list")]
    pub allowed_methods: Vec<String>,
    /// Cookies cross-site (the web client's refresh cookie): then origins must be listed, and
    /// the cookie is `SameSite=None; Secure` (`server.enableTLS` or `behindProxy`).
    pub allow_credentials: bool,
    /// How long a browser may cache a preflight's answer.
    pub max_age: Ttl,
}

/// A YAML list, or one comma-separated string as Bedrud writes these keys.
fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Option::<Raw>::deserialize(d)? {
        None => Vec::new(),
        Some(Raw::List(v)) => v,
        Some(Raw::Text(s)) => s.split(',').map(str::to_string).collect(),
    };
    Ok(items
        .into_iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect())
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_headers: Vec::new(),
            allowed_methods: Vec::new(),
            allow_credentials: false,
            max_age: Ttl::from_secs(600),
        }
    }
}

impl CorsConfig {
    pub fn enabled(&self) -> bool {
        !self.allowed_origins.is_empty()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let any = self.allowed_origins.iter().any(|o| o == "*");
        if any && self.allow_credentials {
            return Err(ConfigError::new(
                "cors.allowedOrigins",
                "is `*` while cors.allowCredentials is true, which browsers refuse",
                "list the web app's origins (https://app.example.com) instead of `*`",
            ));
        }
        for o in self.allowed_origins.iter().filter(|o| *o != "*") {
            let shaped = (o.starts_with("https://") || o.starts_with("http://"))
                && !o
                    .trim_end_matches('/')
                    .contains(|c: char| c.is_whitespace())
                && o.splitn(4, '/').nth(3).is_none_or(str::is_empty);
            if !shaped || o.ends_with('/') {
                return Err(ConfigError::new(
                    "cors.allowedOrigins",
                    format!("`{o}` is not an origin"),
                    "use scheme://host[:port] with no path or trailing slash, e.g. https://app.example.com",
                ));
            }
        }
        Ok(())
    }
}
