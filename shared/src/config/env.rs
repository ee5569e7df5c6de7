//! Environment overrides, applied after the YAML file. Names follow Bedrud's (README,
//! Configuration).

use super::{
    Config, ConfigError, DatabaseKind, EmailConfig, LogFormat, MailProvider, Secret, SmtpTls, Ttl,
};

/// Applies every recognised variable; a value that does not parse names the variable.
pub(super) fn apply(
    c: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());

    set_str(&mut c.server.host, get("SERVER_HOST"));
    parse_into(&mut c.server.port, "SERVER_PORT", get("SERVER_PORT"))?;
    parse_bool(
        &mut c.server.enable_tls,
        "SERVER_ENABLE_TLS",
        get("SERVER_ENABLE_TLS"),
    )?;
    set_opt(&mut c.server.cert_file, get("SERVER_CERT_FILE"));
    set_opt(&mut c.server.key_file, get("SERVER_KEY_FILE"));
    set_opt(&mut c.server.domain, get("SERVER_DOMAIN"));
    #[cfg(feature = "embedded")]
    set_opt(&mut c.server.web_dir, get("SERVER_WEB_DIR"));
    #[cfg(feature = "embedded")]
    if let Some(v) = get("SERVER_HTTP_PORT") {
        let mut port = 0u16;
        parse_into(&mut port, "SERVER_HTTP_PORT", Some(v))?;
        c.server.http_port = Some(port);
    }
    #[cfg(feature = "embedded")]
    {
        parse_bool(
            &mut c.server.use_acme,
            "SERVER_USE_ACME",
            get("SERVER_USE_ACME"),
        )?;
        set_opt(&mut c.server.email, get("SERVER_EMAIL"));
        set_str(&mut c.server.acme.challenge, get("SERVER_ACME_CHALLENGE"));
        set_str(&mut c.server.acme.directory, get("SERVER_ACME_DIRECTORY"));
        set_opt(&mut c.server.acme.ca_root, get("SERVER_ACME_CA_ROOT"));
    }
    parse_bool(
        &mut c.server.behind_proxy,
        "SERVER_BEHIND_PROXY",
        get("SERVER_BEHIND_PROXY"),
    )?;
    if let Some(v) = get("SERVER_TRUSTED_PROXIES") {
        c.server.trusted_proxies = list(&v);
    }
    parse_into(
        &mut c.server.max_body_bytes,
        "SERVER_MAX_BODY_BYTES",
        get("SERVER_MAX_BODY_BYTES"),
    )?;
    set_str(&mut c.server.name, get("SERVER_NAME"));
    parse_into(
        &mut c.server.max_participants_limit,
        "SERVER_MAX_PARTICIPANTS_LIMIT",
        get("SERVER_MAX_PARTICIPANTS_LIMIT"),
    )?;
    parse_into(
        &mut c.server.max_rooms_per_user,
        "SERVER_MAX_ROOMS_PER_USER",
        get("SERVER_MAX_ROOMS_PER_USER"),
    )?;

    if let Some(p) = get("DB_PATH") {
        c.database.path = p.into();
    }
    // TABLE_NAME (what SAM sets) selects DynamoDB unless DB_TYPE says otherwise.
    if let Some(t) = get("TABLE_NAME") {
        c.database.table = Some(t);
        c.database.kind = DatabaseKind::DynamoDb;
    }
    if let Some(v) = get("DB_TYPE") {
        c.database.kind = DatabaseKind::parse(&v).ok_or_else(|| {
            ConfigError::new(
                "DB_TYPE",
                format!("`{v}` is not a supported store"),
                "use sqlite (embedded) or dynamodb (with TABLE_NAME)",
            )
        })?;
    }

    set_str(&mut c.livekit.host, get("LIVEKIT_HOST"));
    set_opt(&mut c.livekit.internal_host, get("LIVEKIT_INTERNAL_HOST"));
    set_opt(&mut c.livekit.api_key, get("LIVEKIT_API_KEY"));
    set_secret(&mut c.livekit.api_secret, get("LIVEKIT_API_SECRET"));
    parse_bool(
        &mut c.livekit.external,
        "LIVEKIT_EXTERNAL",
        get("LIVEKIT_EXTERNAL"),
    )?;
    parse_bool(
        &mut c.livekit.skip_tls_verify,
        "LIVEKIT_SKIP_TLS_VERIFY",
        get("LIVEKIT_SKIP_TLS_VERIFY"),
    )?;
    set_opt(&mut c.livekit.config_path, get("LIVEKIT_CONFIG_PATH"));
    parse_into(&mut c.livekit.port, "LIVEKIT_PORT", get("LIVEKIT_PORT"))?;
    #[cfg(feature = "embedded")]
    parse_bool(
        &mut c.livekit.managed,
        "LIVEKIT_MANAGED",
        get("LIVEKIT_MANAGED"),
    )?;
    #[cfg(feature = "embedded")]
    parse_into(
        &mut c.livekit.prometheus_port,
        "LIVEKIT_PROMETHEUS_PORT",
        get("LIVEKIT_PROMETHEUS_PORT"),
    )?;
    #[cfg(feature = "embedded")]
    {
        let m = &mut c.metrics;
        parse_bool(&mut m.enabled, "METRICS_ENABLED", get("METRICS_ENABLED"))?;
        set_opt(&mut m.listen, get("METRICS_LISTEN"));
        set_secret(&mut m.token, get("METRICS_TOKEN"));
    }
    #[cfg(feature = "embedded")]
    if let Some(v) = get("LIVEKIT_PROXY") {
        let mut on = false;
        parse_bool(&mut on, "LIVEKIT_PROXY", Some(v))?;
        c.livekit.proxy = Some(on);
    }
    set_opt(&mut c.livekit.node_ip, get("LIVEKIT_NODE_IP"));
    parse_bool(
        &mut c.livekit.allow_self_metadata,
        "LIVEKIT_ALLOW_SELF_METADATA",
        get("LIVEKIT_ALLOW_SELF_METADATA"),
    )?;
    if let Some(v) = get("LIVEKIT_TOKEN_TTL") {
        c.livekit.token_ttl = ttl("LIVEKIT_TOKEN_TTL", &v)?;
    }

    let rec = &mut c.recordings;
    parse_bool(
        &mut rec.enabled,
        "RECORDINGS_ENABLED",
        get("RECORDINGS_ENABLED"),
    )?;
    if let Some(d) = get("RECORDINGS_DIR") {
        rec.dir = d.into();
    }
    parse_into(
        &mut rec.max_per_room,
        "RECORDINGS_MAX_PER_ROOM",
        get("RECORDINGS_MAX_PER_ROOM"),
    )?;
    parse_into(
        &mut rec.retention_hours,
        "RECORDING_RETENTION_HOURS",
        get("RECORDING_RETENTION_HOURS"),
    )?;
    parse_into(
        &mut rec.cleanup_interval_hours,
        "RECORDING_CLEANUP_INTERVAL_HOURS",
        get("RECORDING_CLEANUP_INTERVAL_HOURS"),
    )?;
    set_opt(&mut rec.bucket, get("BUCKET_NAME"));
    set_opt(&mut rec.region, get("AWS_REGION"));
    set_opt(&mut rec.endpoint, get("RECORDINGS_S3_ENDPOINT"));
    parse_bool(
        &mut rec.force_path_style,
        "RECORDINGS_S3_FORCE_PATH_STYLE",
        get("RECORDINGS_S3_FORCE_PATH_STYLE"),
    )?;
    set_opt(&mut rec.access_key, get("RECORDINGS_S3_ACCESS_KEY"));
    set_secret(&mut rec.secret, get("RECORDINGS_S3_SECRET"));
    set_opt(&mut rec.queue_url, get("QUEUE_URL"));

    set_secret(&mut c.auth.jwt_secret, get("JWT_SECRET"));
    if let Some(v) = get("AUTH_ACCESS_TOKEN_TTL") {
        c.auth.access_token_ttl = Some(ttl("AUTH_ACCESS_TOKEN_TTL", &v)?);
    }
    if let Some(v) = get("AUTH_REFRESH_TOKEN_TTL") {
        c.auth.refresh_token_ttl = ttl("AUTH_REFRESH_TOKEN_TTL", &v)?;
    }
    parse_bool(
        &mut c.auth.registration_enabled,
        "AUTH_REGISTRATION_ENABLED",
        get("AUTH_REGISTRATION_ENABLED"),
    )?;
    parse_bool(
        &mut c.auth.token_registration_only,
        "AUTH_TOKEN_REGISTRATION_ONLY",
        get("AUTH_TOKEN_REGISTRATION_ONLY"),
    )?;
    parse_bool(
        &mut c.auth.guest_login_enabled,
        "AUTH_GUEST_LOGIN_ENABLED",
        get("AUTH_GUEST_LOGIN_ENABLED"),
    )?;

    set_opt(&mut c.auth.frontend_url, get("AUTH_FRONTEND_URL"));
    set_opt(&mut c.auth.passkey.rp_id, get("AUTH_PASSKEY_RP_ID"));
    if let Some(v) = get("AUTH_PASSKEY_RP_ORIGINS") {
        c.auth.passkey.rp_origins = v.split(',').map(|o| o.trim().to_string()).collect();
    }

    for (client, env) in [
        (&mut c.auth.google, "AUTH_GOOGLE"),
        (&mut c.auth.github, "AUTH_GITHUB"),
        (&mut c.auth.twitter, "AUTH_TWITTER"),
    ] {
        let var = |name: &str| get(&format!("{env}_{name}"));
        set_opt(&mut client.client_id, var("CLIENT_ID"));
        set_secret(&mut client.client_secret, var("CLIENT_SECRET"));
        set_opt(&mut client.redirect_url, var("REDIRECT_URL"));
    }
    parse_bool(
        &mut c.auth.require_email_verification,
        "AUTH_REQUIRE_EMAIL_VERIFICATION",
        get("AUTH_REQUIRE_EMAIL_VERIFICATION"),
    )?;
    for (slot, var) in [
        (
            &mut c.auth.verification_email_cooldown_mins,
            "AUTH_VERIFICATION_COOLDOWN_MINS",
        ),
        (
            &mut c.auth.verification_token_ttl_hours,
            "AUTH_VERIFICATION_TOKEN_TTL_HOURS",
        ),
        (
            &mut c.auth.unverified_account_ttl_hours,
            "AUTH_UNVERIFIED_ACCOUNT_TTL_HOURS",
        ),
        (
            &mut c.auth.reset_token_ttl_hours,
            "AUTH_RESET_TOKEN_TTL_HOURS",
        ),
        (
            &mut c.auth.passkey_challenge_ttl,
            "AUTH_PASSKEY_CHALLENGE_TTL",
        ),
    ] {
        parse_into(slot, var, get(var))?;
    }
    email(&mut c.email, &get)?;
    #[cfg(feature = "embedded")]
    recording_workers(c, &get)?;
    for (slot, var) in [
        (&mut c.cors.allowed_origins, "CORS_ALLOWED_ORIGINS"),
        (&mut c.cors.allowed_headers, "CORS_ALLOWED_HEADERS"),
        (&mut c.cors.allowed_methods, "CORS_ALLOWED_METHODS"),
    ] {
        if let Some(v) = get(var) {
            *slot = list(&v);
        }
    }
    parse_bool(
        &mut c.cors.allow_credentials,
        "CORS_ALLOW_CREDENTIALS",
        get("CORS_ALLOW_CREDENTIALS"),
    )?;
    if let Some(v) = get("CORS_MAX_AGE") {
        // Bedrud's is seconds; a duration works too.
        c.cors.max_age = match v.trim().parse::<u64>() {
            Ok(secs) => Ttl::from_secs(secs),
            Err(_) => ttl("CORS_MAX_AGE", &v)?,
        };
    }

    let rl = &mut c.rate_limit;
    parse_into(
        &mut rl.auth_resend_max_requests,
        "RATELIMIT_AUTH_RESEND_MAX",
        get("RATELIMIT_AUTH_RESEND_MAX"),
    )?;
    parse_into(
        &mut rl.auth_resend_window_secs,
        "RATELIMIT_AUTH_RESEND_WINDOW",
        get("RATELIMIT_AUTH_RESEND_WINDOW"),
    )?;
    parse_into(
        &mut rl.auth_max_requests,
        "RATELIMIT_AUTH_MAX",
        get("RATELIMIT_AUTH_MAX"),
    )?;
    parse_into(
        &mut rl.auth_window_secs,
        "RATELIMIT_AUTH_WINDOW",
        get("RATELIMIT_AUTH_WINDOW"),
    )?;
    parse_into(
        &mut rl.guest_max_requests,
        "RATELIMIT_GUEST_MAX",
        get("RATELIMIT_GUEST_MAX"),
    )?;
    parse_into(
        &mut rl.guest_window_secs,
        "RATELIMIT_GUEST_WINDOW",
        get("RATELIMIT_GUEST_WINDOW"),
    )?;
    parse_into(
        &mut rl.account_max_attempts,
        "RATELIMIT_ACCOUNT_MAX",
        get("RATELIMIT_ACCOUNT_MAX"),
    )?;
    parse_into(
        &mut rl.account_window_secs,
        "RATELIMIT_ACCOUNT_WINDOW",
        get("RATELIMIT_ACCOUNT_WINDOW"),
    )?;

    set_str(&mut c.logger.level, get("LOG_LEVEL"));
    if let Some(v) = get("LOG_FORMAT") {
        c.logger.format = Some(LogFormat::parse(&v).ok_or_else(|| {
            ConfigError::new(
                "LOG_FORMAT",
                format!("`{v}` is not a log format"),
                "use json or text",
            )
        })?);
    }
    Ok(())
}

/// Bedrud's `EMAIL_*` variables, plus `EMAIL_PROVIDER`, `EMAIL_TLS_MODE` and
/// `EMAIL_SES_CONFIGURATION_SET`.
/// `REDIS_ADDRESS`, `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_DB`, `REDIS_USE_TLS`,
/// `REDIS_PORT`; `EGRESS_CONFIG_PATH`, `EGRESS_EXTERNAL`, `EGRESS_HEALTH_PORT`, `EGRESS_PROMETHEUS_PORT` (the binaries'
/// `REDIS_BIN` / `EGRESS_BIN` are read where they are looked for, like `LIVEKIT_BIN`).
#[cfg(feature = "embedded")]
fn recording_workers(
    c: &mut Config,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let e = &mut c.egress;
    if let Some(p) = get("EGRESS_CONFIG_PATH").filter(|p| !p.trim().is_empty()) {
        e.config_path = Some(p.into());
    }
    parse_bool(&mut e.external, "EGRESS_EXTERNAL", get("EGRESS_EXTERNAL"))?;
    parse_into(
        &mut e.health_port,
        "EGRESS_HEALTH_PORT",
        get("EGRESS_HEALTH_PORT"),
    )?;
    let r = &mut c.redis;
    parse_into(&mut r.port, "REDIS_PORT", get("REDIS_PORT"))?;
    set_opt(&mut r.address, get("REDIS_ADDRESS"));
    set_opt(&mut r.username, get("REDIS_USERNAME"));
    set_secret(&mut r.password, get("REDIS_PASSWORD"));
    parse_into(&mut r.db, "REDIS_DB", get("REDIS_DB"))?;
    parse_bool(&mut r.use_tls, "REDIS_USE_TLS", get("REDIS_USE_TLS"))
}

fn email(e: &mut EmailConfig, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if let Some(v) = get("EMAIL_PROVIDER") {
        e.provider = Some(MailProvider::parse(&v).ok_or_else(|| {
            ConfigError::new(
                "EMAIL_PROVIDER",
                format!("`{v}` is not a mail provider"),
                "use smtp, ses or log",
            )
        })?);
    }
    set_opt(&mut e.smtp_host, get("EMAIL_SMTP_HOST"));
    parse_into(&mut e.smtp_port, "EMAIL_SMTP_PORT", get("EMAIL_SMTP_PORT"))?;
    set_opt(&mut e.username, get("EMAIL_USERNAME"));
    set_secret(&mut e.password, get("EMAIL_PASSWORD"));
    set_opt(&mut e.from_address, get("EMAIL_FROM_ADDRESS"));
    set_opt(&mut e.from_name, get("EMAIL_FROM_NAME"));
    parse_bool(
        &mut e.tls_skip_verify,
        "EMAIL_TLS_SKIP_VERIFY",
        get("EMAIL_TLS_SKIP_VERIFY"),
    )?;
    parse_bool(
        &mut e.smtps_mode,
        "EMAIL_SMTPS_MODE",
        get("EMAIL_SMTPS_MODE"),
    )?;
    if let Some(v) = get("EMAIL_TLS_MODE") {
        e.tls_mode = Some(SmtpTls::parse(&v).ok_or_else(|| {
            ConfigError::new(
                "EMAIL_TLS_MODE",
                format!("`{v}` is not a TLS mode"),
                "use starttls, tls or none",
            )
        })?);
    }
    set_opt(
        &mut e.ses_configuration_set,
        get("EMAIL_SES_CONFIGURATION_SET"),
    );
    set_opt(&mut e.queue_url, get("MAIL_QUEUE_URL"));
    Ok(())
}

/// A comma list, blanks dropped.
fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn set_str(slot: &mut String, value: Option<String>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// An optional setting: a non-blank value sets it (a blank one leaves it as it is).
fn set_opt<T: From<String>>(slot: &mut Option<T>, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
        *slot = Some(T::from(v));
    }
}

/// An optional secret: any non-empty value sets it, blanks included, so validation refuses a
/// secret of spaces instead of running on a generated one.
fn set_secret(slot: &mut Option<Secret>, value: Option<String>) {
    if let Some(v) = value {
        *slot = Some(Secret::new(v));
    }
}

fn parse_into<T: std::str::FromStr>(
    slot: &mut T,
    var: &str,
    value: Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = value {
        *slot = v.trim().parse().map_err(|_| {
            ConfigError::new(
                var,
                format!("`{v}` is not a valid number"),
                "use a whole number",
            )
        })?;
    }
    Ok(())
}

fn parse_bool(slot: &mut bool, var: &str, value: Option<String>) -> Result<(), ConfigError> {
    if let Some(v) = value {
        *slot = match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => {
                return Err(ConfigError::new(
                    var,
                    format!("`{v}` is not a boolean"),
                    "use true or false",
                ));
            }
        };
    }
    Ok(())
}

fn ttl(var: &str, v: &str) -> Result<Ttl, ConfigError> {
    Ttl::parse(v).map_err(|p| ConfigError::new(var, p, "use a duration such as 15m"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_wins_and_bad_values_name_the_variable() {
        let vars: HashMap<&str, &str> = [
            ("SERVER_PORT", "0"),
            ("LIVEKIT_EXTERNAL", "true"),
            ("SERVER_TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16"),
            ("AUTH_ACCESS_TOKEN_TTL", "5m"),
        ]
        .into();
        let mut c = Config::default();
        apply(&mut c, &|k| vars.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!(c.server.port, 0);
        assert!(c.livekit.external);
        assert_eq!(c.server.trusted_proxies, vec!["10.0.0.1", "10.1.0.0/16"]);
        assert_eq!(c.auth.access_ttl().as_secs(), 300);

        let err = apply(&mut c, &|k| {
            (k == "SERVER_PORT").then(|| "http".to_string())
        })
        .unwrap_err();
        assert_eq!(err.key, "SERVER_PORT");
    }

    #[test]
    fn bedruds_email_and_cors_variables() {
        let vars: HashMap<&str, &str> = [
            ("EMAIL_SMTP_HOST", "smtp.example.com"),
            ("EMAIL_SMTP_PORT", "465"),
            ("EMAIL_SMTPS_MODE", "true"),
            ("EMAIL_FROM_ADDRESS", "no-reply@example.com"),
            ("EMAIL_PASSWORD", "smtp-pass"),
            ("AUTH_REQUIRE_EMAIL_VERIFICATION", "true"),
            ("AUTH_RESET_TOKEN_TTL_HOURS", "2"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example.com, https://b.example.com",
            ),
            ("CORS_ALLOW_CREDENTIALS", "true"),
            ("CORS_MAX_AGE", "3600"),
        ]
        .into();
        let mut c = Config::default();
        apply(&mut c, &|k| vars.get(k).map(|s| s.to_string())).unwrap();
        assert_eq!(c.mail_provider(), Some(MailProvider::Smtp));
        assert_eq!((c.email.smtp_port, c.email.tls()), (465, SmtpTls::Tls));
        assert_eq!(c.email.password.as_ref().unwrap().expose(), "smtp-pass");
        assert!(c.auth.require_email_verification);
        assert_eq!(c.auth.reset_token_ttl_hours, 2);
        assert_eq!(
            c.cors.allowed_origins,
            vec!["https://a.example.com", "https://b.example.com"]
        );
        assert!(c.cors.allow_credentials);
        assert_eq!(c.cors.max_age.as_secs(), 3600);
        c.validate().unwrap();
        // In production the log provider is never implicit, so verification needs a real one.
        let mut prod = Config::default();
        prod.server.enable_tls = true;
        assert_eq!(prod.mail_provider(), None);
        prod.auth.require_email_verification = true;
        assert_eq!(
            prod.validate().unwrap_err().key,
            "auth.requireEmailVerification"
        );
        assert_eq!(Config::default().mail_provider(), Some(MailProvider::Log));
    }
}
