//! `bedrud doctor [--config F]`: the seed's troubleshooting tables, checked where a local
//! check can. Each finding says the symptom a user would see, its cause, and the fix; the
//! exit code is non-zero when anything failed.

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use bedrud_shared::config::{Config, MIN_LIVEKIT_SECRET};
use bedrud_shared::domain::SettingValue;
use bedrud_shared::livekit::LiveKit;
use bedrud_shared::livekit::twirp::TwirpLiveKit;
use bedrud_shared::settings::{Settings, Source};
use serde_yaml_ng::Value;

use crate::supervisor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub check: &'static str,
    pub symptom: String,
    pub cause: String,
    pub fix: String,
}

fn ok(check: &'static str, what: impl Into<String>) -> Finding {
    Finding {
        level: Level::Ok,
        check,
        symptom: what.into(),
        cause: String::new(),
        fix: String::new(),
    }
}

fn bad(
    level: Level,
    check: &'static str,
    symptom: impl Into<String>,
    cause: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding {
        level,
        check,
        symptom: symptom.into(),
        cause: cause.into(),
        fix: fix.into(),
    }
}

/// Every check that applies to this configuration.
pub async fn examine(config: &Config) -> Vec<Finding> {
    let lk = &config.livekit;
    let mut out = Vec::new();
    out.push(secret(config));
    out.extend(settings(config).await);
    out.extend(schemes(config));
    out.extend(proxy_upgrade(config).await);
    if lk.managed {
        out.push(ok(
            "livekit",
            format!(
                "LiveKit is run by its own service on this machine (LIVEKIT_MANAGED): bedrud \
                 does not start it and calls it at {}",
                lk.internal_host.as_deref().unwrap_or(&lk.host)
            ),
        ));
    }
    if lk.external {
        out.push(reachable(config).await);
        if config.recordings.enabled && config.recordings.bucket.is_none() {
            out.push(bad(
                Level::Fail,
                "recordings",
                "recordings fail to start, or end up on a LiveKit worker's disk",
                "recordings are enabled with an external LiveKit but no bucket is configured: its egress cannot write to this server",
                "set recordings.bucket (BUCKET_NAME), and give the egress S3 credentials (RECORDINGS_S3_ACCESS_KEY/SECRET) or an egress.s3 block",
            ));
        }
    } else {
        out.extend(binary(lk.binary_path.as_deref()).await);
        for (port, what) in [
            (lk.port, "LiveKit's port (livekit.port)"),
            (7881, "LiveKit's ICE/TCP port"),
            (config.server.port, "the API port (server.port)"),
        ] {
            out.push(port_free(port, what));
        }
        if let Some(path) = &lk.config_path {
            out.extend(static_yaml(config, path));
        }
    }
    out
}

/// Each runtime setting, its effective value and where it comes from: the config file (the
/// default) or the store (an admin's change, which wins).
async fn settings(config: &Config) -> Vec<Finding> {
    let stores = match bedrud_shared::runtime::open_stores(config).await {
        Ok((stores, _)) => stores,
        Err(e) => {
            return vec![bad(
                Level::Warn,
                "settings",
                "the runtime settings could not be read",
                format!("the store did not open: {e}"),
                "check database.path (or TABLE_NAME and AWS credentials) and run doctor again",
            )];
        }
    };
    let settings = Settings::new(stores.settings.clone(), config);
    let (current, sources) = match tokio::try_join!(settings.current(), settings.sources()) {
        Ok(both) => both,
        Err(e) => {
            return vec![bad(
                Level::Warn,
                "settings",
                "the runtime settings could not be read",
                e.to_string(),
                "check the store and run doctor again",
            )];
        }
    };
    let shown = current.shown();
    sources
        .into_iter()
        .map(|(key, source)| {
            let value = shown
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| match v {
                    SettingValue::Bool(b) => b.to_string(),
                    SettingValue::Int(n) => n.to_string(),
                    SettingValue::Text(t) => format!("{t:?}"),
                })
                .unwrap_or_default();
            let from = match source {
                Source::Config => "config file",
                Source::Stored => "stored by an admin",
            };
            ok("setting", format!("{key} = {value} ({from})"))
        })
        .collect()
}

fn secret(config: &Config) -> Finding {
    let n = config
        .livekit
        .api_secret
        .as_ref()
        .map_or(0, |s| s.expose().len());
    if config.livekit.api_key.is_none() {
        bad(
            Level::Fail,
            "api key",
            "no LiveKit key pair configured: joins fail, LiveKit refuses our calls",
            "livekit.apiKey/apiSecret are empty",
            "set LIVEKIT_API_KEY and LIVEKIT_API_SECRET (bedrud run generates local ones)",
        )
    } else if n < MIN_LIVEKIT_SECRET {
        bad(
            Level::Fail,
            "api secret",
            "LiveKit rejects tokens or refuses to start",
            format!("livekit.apiSecret is {n} characters; LiveKit needs {MIN_LIVEKIT_SECRET}"),
            "use a longer secret, e.g. `openssl rand -base64 32`",
        )
    } else {
        ok("api secret", format!("{n} characters"))
    }
}

fn schemes(config: &Config) -> Vec<Finding> {
    let lk = &config.livekit;
    let mut out = Vec::new();
    if !(lk.host.starts_with("ws://") || lk.host.starts_with("wss://")) {
        out.push(bad(
            Level::Fail,
            "livekit.host",
            "clients cannot connect to the meeting",
            format!(
                "livekit.host is {:?}; clients need a ws:// or wss:// URL",
                lk.host
            ),
            "set livekit.host (LIVEKIT_HOST) to e.g. wss://livekit.example.com",
        ));
    } else if config.server.secure_cookies() && lk.host.starts_with("ws://") {
        out.push(bad(
            Level::Warn,
            "livekit.host",
            "browsers on the HTTPS site refuse to connect (mixed content)",
            "the API is served over TLS but livekit.host is ws:// (no TLS)",
            "serve LiveKit over TLS and set livekit.host to wss://…",
        ));
    } else {
        out.push(ok("livekit.host", lk.host.clone()));
    }
    let internal = lk.internal_host.as_deref().unwrap_or_default().trim();
    if !internal.is_empty()
        && !["http://", "https://", "ws://", "wss://"]
            .iter()
            .any(|p| internal.starts_with(p))
    {
        out.push(bad(
            Level::Fail,
            "livekit.internalHost",
            "moderation, recordings and the admin status fail (LiveKit unreachable)",
            format!("livekit.internalHost is {internal:?}: no http(s):// or ws(s):// scheme"),
            "set livekit.internalHost (LIVEKIT_INTERNAL_HOST) to e.g. http://127.0.0.1:7880",
        ));
    }
    out
}

async fn reachable(config: &Config) -> Finding {
    let host = bedrud_shared::livekit::server_host(config);
    let lk = &config.livekit;
    let (key, secret) = lk.keys().unwrap_or_default();
    let client = match TwirpLiveKit::with_timeout(
        host,
        key,
        secret,
        lk.skip_tls_verify,
        Duration::from_secs(3),
    ) {
        Ok(c) => c,
        Err(e) => {
            return bad(
                Level::Fail,
                "internalHost",
                "LiveKit unreachable",
                e,
                "fix livekit.internalHost",
            );
        }
    };
    match client.health().await {
        Ok(()) => ok("internalHost", format!("{host} answers GET / with OK")),
        Err(e) => bad(
            Level::Fail,
            "internalHost",
            "the admin dashboard shows \"LiveKit disconnected\"; moderation and recordings fail",
            e.to_string(),
            "check that LiveKit runs and that livekit.internalHost (else livekit.host) points at it",
        ),
    }
}

async fn binary(configured: Option<&Path>) -> Vec<Finding> {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = supervisor::find_binary(configured) else {
        return vec![bad(
            Level::Fail,
            "livekit-server",
            "meetings cannot start (bedrud run says LiveKit is missing)",
            "no livekit-server in livekit.binaryPath, LIVEKIT_BIN or PATH",
            "install it (https://docs.livekit.io/home/self-hosting/local/) or set livekit.external with livekit.host/apiKey/apiSecret",
        )];
    };
    let executable = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if !executable {
        return vec![bad(
            Level::Fail,
            "livekit-server",
            "meetings cannot start",
            format!("{} is not executable", path.display()),
            format!("chmod +x {}", path.display()),
        )];
    }
    match supervisor::version(&path).await {
        Some(v) => vec![ok(
            "livekit-server",
            format!("{} version {v}", path.display()),
        )],
        None => vec![bad(
            Level::Warn,
            "livekit-server",
            "LiveKit may not start",
            format!("{} --version printed nothing usable", path.display()),
            "reinstall livekit-server",
        )],
    }
}

fn port_free(port: u16, what: &str) -> Finding {
    match TcpListener::bind(("0.0.0.0", port)) {
        Ok(_) => ok("port", format!("{port} ({what}) is free")),
        Err(e) => bad(
            Level::Fail,
            "port",
            format!("{what} cannot be taken: start fails or LiveKit restarts in a loop"),
            format!("port {port} is in use ({e})"),
            "stop what holds it (another livekit-server or bedrud?) or change the port",
        ),
    }
}

/// With `bedrud run` up on this machine: a WebSocket upgrade of `/livekit/rtc` through its
/// proxy, which must reach LiveKit's signalling (any answer of LiveKit's counts: the check
/// sends no token). Nothing to say when no server answers on the API port.
async fn proxy_upgrade(config: &Config) -> Option<Finding> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const CHECK: &str = "livekit proxy";
    if !config.livekit.proxied() {
        return None;
    }
    let addr = format!("127.0.0.1:{}", config.server.port);
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.ok()?;
        let request = format!(
            "GET /livekit/rtc HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: YmVkcnVkLWRvY3Rvci1jaGs=\r\n\r\n"
        );
        s.write_all(request.as_bytes()).await.ok()?;
        let mut head = vec![0u8; 512];
        let n = s.read(&mut head).await.ok()?;
        let text = String::from_utf8_lossy(&head[..n]).into_owned();
        text.split_whitespace().nth(1)?.parse::<u16>().ok()
    };
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), exchange)
        .await
        .ok()??;
    Some(match status {
        101 | 400 | 401 | 403 => ok(
            CHECK,
            format!("a WebSocket upgrade of /livekit/rtc on {addr} reaches LiveKit ({status})"),
        ),
        502 => bad(
            Level::Fail,
            CHECK,
            "clients cannot connect to meetings: LiveKit's signalling through /livekit fails",
            format!("bedrud on {addr} cannot reach LiveKit behind its /livekit proxy"),
            "see the LiveKit checks above (is livekit-server running? livekit.port, livekit.internalHost)",
        ),
        other => bad(
            Level::Warn,
            CHECK,
            "clients given wss://<domain>/livekit cannot connect to meetings",
            format!(
                "GET /livekit/rtc on {addr} answered {other}: the proxy is off or something else holds the port"
            ),
            "run bedrud with livekit.proxy (on by default with the embedded LiveKit), or give clients LiveKit's own address in livekit.host",
        ),
    })
}

/// A static `livekit.configPath` file: the mistakes that stop or break a LiveKit.
fn static_yaml(config: &Config, path: &Path) -> Vec<Finding> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return vec![bad(
                Level::Fail,
                "livekit.configPath",
                "LiveKit cannot start",
                format!("{}: {e}", path.display()),
                "point livekit.configPath at a readable file, or leave it empty to generate one",
            )];
        }
    };
    let yaml: Value = match serde_yaml_ng::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            return vec![bad(
                Level::Fail,
                "livekit.configPath",
                "LiveKit exits at start (\"could not parse config\", possibly with exit code 0)",
                format!("{}: not valid YAML: {e}", path.display()),
                "fix the YAML, or leave livekit.configPath empty to generate one",
            )];
        }
    };
    let mut out = Vec::new();
    if yaml.get("tls").is_some() {
        out.push(bad(
            Level::Fail,
            "static config",
            "LiveKit exits at start (\"could not parse config\")",
            "a top-level `tls:` key: livekit-server has none, and its parser is strict",
            "remove `tls:`; TLS for TURN goes under `turn:` (cert_file, key_file, domain, tls_port)",
        ));
    }
    let turn = &yaml["turn"];
    if turn.get("tls_port").is_some() && turn["domain"].as_str().is_none_or(|d| d.trim().is_empty())
    {
        out.push(bad(
            Level::Fail,
            "static config",
            "LiveKit exits at start (\"TURN domain required\")",
            "`turn.tls_port` is set without `turn.domain`",
            "set turn.domain to the name the certificate is for",
        ));
    }
    let rtc = &yaml["rtc"];
    if rtc["use_external_ip"].as_bool() == Some(true) && rtc.get("node_ip").is_none() {
        out.push(bad(
            Level::Warn,
            "static config",
            "media fails behind NAT or without internet (participants join but see no video)",
            "`rtc.use_external_ip: true` without `rtc.node_ip`: LiveKit guesses the IP by STUN",
            "set rtc.node_ip to this machine's public IP",
        ));
    }
    let ours = format!(":{}/api/livekit/webhook", config.server.port);
    let urls: Vec<&str> = yaml["webhook"]["urls"]
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !urls.iter().any(|u| u.ends_with(&ours)) {
        out.push(bad(
            Level::Warn,
            "static config",
            "rooms and participants look stale; seats are freed only by the reconciler",
            if urls.is_empty() {
                "no `webhook:` block".to_string()
            } else {
                format!("webhooks go to {urls:?}, not to this server")
            },
            format!(
                "add webhook: {{api_key: {}, urls: [http://127.0.0.1{ours}]}}",
                config
                    .livekit
                    .api_key
                    .as_deref()
                    .unwrap_or("<livekit.apiKey>")
            ),
        ));
    }
    if config.recordings.enabled && yaml.get("redis").is_none() {
        out.push(bad(
            Level::Warn,
            "static config",
            "recordings never start",
            "recordings are enabled but the LiveKit config has no `redis:` (egress needs it)",
            "add a redis block and run an egress worker beside LiveKit",
        ));
    }
    if out.is_empty() {
        out.push(ok("static config", path.display().to_string()));
    }
    out
}

/// Prints the findings and returns the exit code.
pub fn main(config_path: Option<&Path>) -> std::process::ExitCode {
    crate::block_on(async {
        let config = match Config::load(config_path) {
            Ok(l) => l.config,
            Err(e) => {
                eprintln!("bedrud: {e}");
                return std::process::ExitCode::from(2);
            }
        };
        let findings = examine(&config).await;
        for f in &findings {
            let tag = match f.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            println!("{tag} {}: {}", f.check, f.symptom);
            if f.level != Level::Ok {
                println!("     cause: {}", f.cause);
                println!("     fix:   {}", f.fix);
            }
        }
        if findings.iter().any(|f| f.level == Level::Fail) {
            std::process::ExitCode::from(1)
        } else {
            std::process::ExitCode::SUCCESS
        }
    })
}
