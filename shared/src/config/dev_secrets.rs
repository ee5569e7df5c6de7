//! Secrets for the zero-config local server: generated once, kept beside the database so
//! sessions survive restarts, and announced with a warning because production must set them.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevSecrets {
    pub jwt_secret: Secret,
    pub livekit_api_key: String,
    pub livekit_api_secret: Secret,
}

impl DevSecrets {
    fn generate() -> Self {
        let mut rng = rand::rng();
        Self {
            jwt_secret: Secret::new(Alphanumeric.sample_string(&mut rng, 48)),
            livekit_api_key: format!("API{}", Alphanumeric.sample_string(&mut rng, 12)),
            livekit_api_secret: Secret::new(Alphanumeric.sample_string(&mut rng, 48)),
        }
    }
}

/// Fills every missing secret from `<data dir>/dev-secrets.json`, creating it (mode 0600) if
/// needed. Returns the file used and the keys it filled, so the caller can warn once.
pub fn fill_dev_secrets(
    config: &mut Config,
) -> Result<Option<(PathBuf, Vec<&'static str>)>, ConfigError> {
    let need_jwt = config.auth.jwt_secret.is_none();
    // External LiveKit keys must match the server; only the embedded server can take ours.
    let need_lk = config.livekit.api_key.is_none() && !config.livekit.external;
    if !need_jwt && !need_lk {
        return Ok(None);
    }
    let path = config.database.data_dir().join("dev-secrets.json");
    let secrets = load_or_create(&path)?;
    let mut filled = Vec::new();
    if need_jwt {
        config.auth.jwt_secret = Some(secrets.jwt_secret);
        filled.push("auth.jwtSecret");
    }
    if need_lk {
        config.livekit.api_key = Some(secrets.livekit_api_key);
        config.livekit.api_secret = Some(secrets.livekit_api_secret);
        filled.push("livekit.apiKey/apiSecret");
    }
    Ok(Some((path, filled)))
}

fn load_or_create(path: &Path) -> Result<DevSecrets, ConfigError> {
    let fail = |what: String| {
        ConfigError::new(
            "auth.jwtSecret",
            what,
            "set JWT_SECRET, or make the database directory writable",
        )
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            return serde_json::from_slice(&bytes).map_err(|e| {
                fail(format!(
                    "{} is unreadable ({e}); delete it to regenerate",
                    path.display()
                ))
            });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(fail(format!("cannot read {}: {e}", path.display())));
        }
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    let secrets = DevSecrets::generate();
    let body = serde_json::to_vec_pretty(&secrets).expect("secrets serialize");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(&body)
                .and_then(|_| f.sync_all())
                .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
            Ok(secrets)
        }
        // Another process created it first: use theirs so both agree.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
        Err(e) => Err(fail(format!("cannot create {}: {e}", path.display()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = Config::default();
        a.database.path = dir.path().join("bedrud.db");
        let (path, filled) = fill_dev_secrets(&mut a).unwrap().unwrap();
        assert_eq!(filled, vec!["auth.jwtSecret", "livekit.apiKey/apiSecret"]);
        a.validate().unwrap();
        let mut b = Config::default();
        b.database.path = a.database.path.clone();
        fill_dev_secrets(&mut b).unwrap();
        assert_eq!(a.auth.jwt_secret, b.auth.jwt_secret);
        assert_eq!(a.livekit.api_secret, b.livekit.api_secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_secrets_are_left_alone() {
        let mut c = Config::default();
        c.auth.jwt_secret = Some("configured-jwt-secret-0123456789abcdefXYZ".into());
        c.livekit.external = true;
        assert!(fill_dev_secrets(&mut c).unwrap().is_none());
    }
}
