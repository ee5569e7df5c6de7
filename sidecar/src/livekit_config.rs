//! The embedded LiveKit's configuration, generated from ours. `livekit-server` parses its
//! YAML strictly (an unknown key aborts start, and there is no top-level `tls`), so this is a
//! typed struct holding only keys it knows, integers as integers. TURN over TLS reuses the
//! server's certificate; `node_ip` comes from `livekit.nodeIP`, else `server.host` when it is
//! an IP, else the outbound address (a routing lookup: no packet is sent).

use std::collections::BTreeMap;
use std::net::{IpAddr, UdpSocket};
use std::path::Path;

use bedrud_shared::config::{Config, ConfigError};
use serde::Serialize;

use crate::recorder::RedisPlan;

/// The webhook route LiveKit calls back.
const WEBHOOK_PATH: &str = "/api/livekit/webhook";

#[derive(Debug, Serialize)]
pub struct LiveKitServerConfig {
    pub port: u16,
    pub keys: BTreeMap<String, String>,
    pub rtc: Rtc,
    pub room: Room,
    pub webhook: Webhook,
    pub logging: Logging,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<Turn>,
    /// Shared with the egress workers: LiveKit answers every egress request "permission
    /// denied" without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<Redis>,
    /// `livekit.prometheusPort`: LiveKit's own metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus_port: Option<u16>,
}

/// LiveKit's `redis:` keys (`livekit/protocol` `redis.RedisConfig`).
#[derive(Debug, Clone, Serialize)]
pub struct Redis {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    pub db: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub use_tls: bool,
}

impl Redis {
    /// The operator's Redis (`redis.address` and its credentials), if one is named.
    pub fn operators(config: &Config) -> Option<Self> {
        let r = &config.redis;
        r.address.clone().map(|address| Redis {
            address,
            username: r.username.clone(),
            password: r.password.as_ref().map(|p| p.expose().to_string()),
            db: r.db,
            use_tls: r.use_tls,
        })
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Serialize)]
pub struct Rtc {
    pub tcp_port: u16,
    pub port_range_start: u16,
    pub port_range_end: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_external_ip: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_ip: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Room {
    pub auto_create: bool,
    pub empty_timeout: u32,
    pub departure_timeout: u32,
}

#[derive(Debug, Serialize)]
pub struct Webhook {
    pub api_key: String,
    pub urls: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Logging {
    pub level: String,
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct Turn {
    pub enabled: bool,
    pub domain: String,
    pub tls_port: u16,
    pub udp_port: u16,
    pub cert_file: String,
    pub key_file: String,
}

/// Where this server actually listens (known once bound; the configured port may be 0).
#[derive(Debug, Clone)]
pub struct Listening {
    pub ip: IpAddr,
    pub port: u16,
}

/// Builds the configuration; `outbound` finds the machine's outbound address when nothing
/// names the node's IP (tests pass their own).
pub fn generate(
    config: &Config,
    listening: &Listening,
    outbound: impl Fn() -> Option<IpAddr>,
) -> Result<LiveKitServerConfig, ConfigError> {
    let lk = &config.livekit;
    let (key, secret) = config.require_livekit_keys()?;
    let node_ip = node_ip(config, outbound)?;
    let turn = turn(config)?;
    // LiveKit runs beside us: it calls back on loopback unless we listen on one address only.
    let callback_host = match (&turn, listening.ip) {
        (Some(t), _) => t.domain.clone(),
        (None, ip) if ip.is_unspecified() => "127.0.0.1".into(),
        (None, IpAddr::V6(ip)) => format!("[{ip}]"),
        (None, ip) => ip.to_string(),
    };
    let scheme = if turn.is_some() { "https" } else { "http" };
    Ok(LiveKitServerConfig {
        port: lk.port,
        keys: BTreeMap::from([(key.to_string(), secret.to_string())]),
        rtc: Rtc {
            tcp_port: 7881,
            port_range_start: 50000,
            port_range_end: 60000,
            use_external_ip: node_ip.map(|_| false),
            node_ip: node_ip.map(|ip| ip.to_string()),
        },
        room: Room {
            auto_create: true,
            empty_timeout: 300,
            departure_timeout: 20,
        },
        webhook: Webhook {
            api_key: key.to_string(),
            urls: vec![format!(
                "{scheme}://{callback_host}:{}{WEBHOOK_PATH}",
                listening.port
            )],
        },
        logging: logging(config),
        turn,
        redis: Redis::operators(config),
        prometheus_port: Some(lk.prometheus_port).filter(|p| *p != 0),
    })
}

/// LiveKit's log level from ours (its levels have no `trace`); plain text, which our log
/// forwards line by line.
pub fn logging(config: &Config) -> Logging {
    Logging {
        level: match config.logger.level.as_str() {
            "trace" | "debug" => "debug",
            "warn" => "warn",
            "error" => "error",
            _ => "info",
        }
        .into(),
        json: false,
    }
}

impl LiveKitServerConfig {
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("plain data serializes")
    }
}

fn node_ip(
    config: &Config,
    outbound: impl Fn() -> Option<IpAddr>,
) -> Result<Option<IpAddr>, ConfigError> {
    if let Some(configured) = config.livekit.node_ip.as_deref().map(str::trim) {
        return configured.parse::<IpAddr>().map(Some).map_err(|_| {
            ConfigError::new(
                "livekit.nodeIP",
                format!("{configured:?} is not an IP address"),
                "set livekit.nodeIP (LIVEKIT_NODE_IP) to this machine's public IP, or leave it empty",
            )
        });
    }
    match config.server.host.parse::<IpAddr>() {
        Ok(ip) if !ip.is_unspecified() => Ok(Some(ip)),
        _ => Ok(outbound()),
    }
}

/// TURN over TLS on the server's own certificate, when TLS is on.
fn turn(config: &Config) -> Result<Option<Turn>, ConfigError> {
    let s = &config.server;
    if !s.enable_tls {
        return Ok(None);
    }
    let mut files = Vec::new();
    for (key, value, env) in [
        ("server.certFile", &s.cert_file, "SERVER_CERT_FILE"),
        ("server.keyFile", &s.key_file, "SERVER_KEY_FILE"),
    ] {
        match value {
            Some(p) if p.is_file() => files.push(p.to_string_lossy().into_owned()),
            _ => {
                return Err(ConfigError::new(
                    key,
                    format!("TLS is on but {value:?} is not a readable file; TURN/TLS needs it"),
                    format!("set {key} ({env}) to the PEM file, or turn server.enableTLS off"),
                ));
            }
        }
    }
    let domain = s.domain.as_deref().unwrap_or(&s.host).trim();
    if domain.is_empty() || domain.parse::<IpAddr>().is_ok() || domain == "localhost" {
        return Err(ConfigError::new(
            "server.domain",
            format!("TURN over TLS needs a domain name, not {domain:?}"),
            "set server.domain (SERVER_DOMAIN) to the name the certificate is for",
        ));
    }
    Ok(Some(Turn {
        enabled: true,
        domain: domain.to_string(),
        tls_port: 5349,
        udp_port: 3478,
        key_file: files.pop().expect("two files checked"),
        cert_file: files.pop().expect("two files checked"),
    }))
}

/// This machine's outbound address, from a routing lookup: connecting a UDP socket sends
/// nothing.
pub fn outbound_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// `bedrud livekit-config [--config F] [--egress]`: prints what `bedrud run` would give
/// LiveKit (with the `redis:` block of the Redis recordings use), or the egress worker.
pub fn print(config_path: Option<&Path>, egress: bool) -> std::process::ExitCode {
    let result = (|| -> Result<String, String> {
        let mut config = Config::load(config_path).map_err(|e| e.to_string())?.config;
        bedrud_shared::config::fill_dev_secrets(&mut config).map_err(|e| e.to_string())?;
        let plan = match config.recordings.enabled {
            true => Some(
                RedisPlan::new(&config, config.livekit.config_path.is_none())
                    .map_err(|e| e.to_string())?,
            ),
            false => None,
        };
        let redis = plan.as_ref().and_then(RedisPlan::block).cloned();
        if egress {
            let redis = redis.ok_or(
                "no egress config: recordings are off (recordings.enabled) or have no Redis (see bedrud doctor)",
            )?;
            let generated =
                crate::recorder::egress_config(&config, redis).map_err(|e| e.to_string())?;
            return Ok(generated.to_yaml());
        }
        let ip = config
            .server
            .host
            .parse()
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let listening = Listening {
            ip,
            port: config.server.port,
        };
        let mut generated =
            generate(&config, &listening, outbound_ip).map_err(|e| e.to_string())?;
        if redis.is_some() {
            generated.redis = redis;
        }
        Ok(generated.to_yaml())
    })();
    match result {
        Ok(yaml) => {
            print!("{yaml}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bedrud: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
