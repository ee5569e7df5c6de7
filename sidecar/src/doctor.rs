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

use crate::recorder::{self, RedisPlan};
use crate::supervisor::{self, EGRESS, LIVEKIT, REDIS, Tool};

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
        out.push(
            binary(
                &LIVEKIT,
                lk.binary_path.as_deref(),
                "meetings cannot start (bedrud run says LiveKit is missing)",
            )
            .await,
        );
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
        if config.recordings.enabled {
            out.extend(recording(config).await);
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

/// LiveKit's server API at `internalHost` (else `host`), with a short timeout.
fn client(config: &Config) -> Result<TwirpLiveKit, String> {
    let lk = &config.livekit;
    let (key, secret) = lk.keys().unwrap_or_default();
    TwirpLiveKit::with_timeout(
        bedrud_shared::livekit::server_host(config),
        key,
        secret,
        lk.skip_tls_verify,
        Duration::from_secs(3),
    )
    .map_err(|e| e.to_string())
}

async fn reachable(config: &Config) -> Finding {
    let host = bedrud_shared::livekit::server_host(config);
    let client = match client(config) {
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

/// The program is found, executable, and says its version; `symptom` is what a user sees
/// without it.
async fn binary(tool: &'static Tool, configured: Option<&Path>, symptom: &str) -> Finding {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = supervisor::find_binary(tool, configured) else {
        return bad(
            Level::Fail,
            tool.name,
            symptom,
            format!("no {} in {}, {} or PATH", tool.name, tool.key, tool.env),
            tool.install,
        );
    };
    let executable = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if !executable {
        return bad(
            Level::Fail,
            tool.name,
            symptom,
            format!("{} is not executable", path.display()),
            format!("chmod +x {}", path.display()),
        );
    }
    match supervisor::version(&path).await {
        Some(v) => ok(tool.name, format!("{} version {v}", path.display())),
        None => bad(
            Level::Warn,
            tool.name,
            format!("{} may not start", tool.name),
            format!("{} --version printed nothing usable", path.display()),
            format!("reinstall it: {}", tool.install),
        ),
    }
}

/// Recording on the embedded LiveKit: Redis answers, LiveKit's config names it, the egress
/// worker is installed and answers its health port, and the recordings directory takes
/// files. Each of the product's recording troubleshooting rows is prevented by generation
/// (the `redis:` block, the egress token's grant) or detected here.
async fn recording(config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    let generated = config.livekit.config_path.is_none();
    match recorder::RedisPlan::new(config, generated) {
        Ok(RedisPlan::External(r)) => out.push(
            match supervisor::redis_ping(&r.address, r.username.as_deref(), r.password.as_deref())
                .await
            {
                _ if r.use_tls => ok("redis", format!("{} (TLS: not checked here)", r.address)),
                Ok(()) => ok("redis", format!("{} answers PING", r.address)),
                Err(e) => bad(
                    Level::Fail,
                    "redis",
                    "recordings fail to start (LiveKit logs Redis connection errors)",
                    e,
                    "start that Redis, or fix redis.address / password / db (REDIS_*)",
                ),
            },
        ),
        Ok(RedisPlan::Local { program, block, .. }) => {
            out.push(
                binary(
                    &REDIS,
                    config.redis.binary_path.as_deref(),
                    "recordings fail to start",
                )
                .await,
            );
            let address = block.address;
            out.push(
                match supervisor::redis_ping(&address, None, block.password.as_deref()).await {
                    Ok(()) => ok(
                        "redis",
                        format!("bedrud run's Redis at {address} answers PING"),
                    ),
                    Err(e) => bad(
                        Level::Warn,
                        "redis",
                        "recordings fail while bedrud's Redis is down",
                        format!("{e} (normal when bedrud run is not running)"),
                        format!(
                            "start bedrud run; if it runs, see its log for {}",
                            program.tool.name
                        ),
                    ),
                },
            );
            out.push(ok(
                "livekit redis",
                "the generated LiveKit config gets the redis: block of bedrud's Redis",
            ));
        }
        Ok(RedisPlan::Missing(fix)) => out.push(bad(
            Level::Fail,
            "redis",
            "recording/start answers 503 \"recording needs Redis\"",
            "recordings are on, but the embedded LiveKit has no Redis",
            fix,
        )),
        Err(e) => out.push(bad(
            Level::Fail,
            "redis",
            "bedrud run refuses to start",
            e.to_string(),
            "see the key named",
        )),
    }
    if config.egress.external {
        out.push(ok(
            "egress",
            "an egress worker run elsewhere serves this LiveKit (egress.external)",
        ));
    } else {
        let found = binary(
            &EGRESS,
            config.egress.binary_path.as_deref(),
            "recording/start answers 503 \"recording needs LiveKit Egress\"",
        )
        .await;
        let installed = found.level != Level::Fail;
        out.push(found);
        let port = config.egress.health_port;
        if installed {
            out.push(match supervisor::health(port).await {
                Some(200) => ok("egress health", format!("the egress worker answers on port {port}: registered and accepting work")),
                answer => bad(
                    Level::Warn,
                    "egress health",
                    "recording/start answers 503 while the worker is down",
                    match answer {
                        Some(code) => format!("its health port {port} answers {code} (busy or unhealthy)"),
                        None => format!("nothing answers on its health port {port} (normal when bedrud run is not running)"),
                    },
                    "start bedrud run; if it runs, see its log for egress (Chrome, GStreamer and Redis errors show there)",
                ),
            });
        }
    }
    out.extend(egress_through_livekit(config).await);
    if config.recordings.bucket.is_none() {
        out.push(writable(&config.recordings.dir));
    }
    out
}

/// With LiveKit up: `ListEgress` works, so LiveKit has its Redis and takes egress requests
/// (without one it refuses them all). Nothing to say while LiveKit is not running.
async fn egress_through_livekit(config: &Config) -> Option<Finding> {
    let lk = client(config).ok()?;
    lk.health().await.ok()?;
    Some(match lk.list_egress(None, true).await {
        Ok(_) => ok(
            "egress via livekit",
            "LiveKit answers ListEgress: it has Redis and takes recording requests",
        ),
        Err(e) => bad(
            Level::Fail,
            "egress via livekit",
            "recording/start fails with LiveKit's \"permission denied\" or \"egress not connected\"",
            format!("LiveKit refuses ListEgress: {e}"),
            "LiveKit needs a redis: block (bedrud run generates one; with livekit.configPath add the Redis of redis.address) and an egress worker on the same Redis",
        ),
    })
}

/// The recordings directory takes a file, with its free space.
fn writable(dir: &Path) -> Finding {
    let symptom = "recordings end as failed: the egress cannot write their files";
    let probe = std::fs::create_dir_all(dir).and_then(|()| tempfile::tempfile_in(dir));
    if let Err(e) = probe {
        return bad(
            Level::Fail,
            "recordings dir",
            symptom,
            format!("{} is not writable: {e}", dir.display()),
            "make recordings.dir writable by the user bedrud and egress run as, or set recordings.bucket",
        );
    }
    let free = free_bytes(dir).unwrap_or(0);
    let gib = free as f64 / f64::from(1u32 << 30);
    if free < 1 << 30 {
        bad(
            Level::Warn,
            "recordings dir",
            "recordings stop when the disk fills (about 1 GiB per hour of 720p)",
            format!("{} has {gib:.1} GiB free", dir.display()),
            "free space, point recordings.dir at a larger disk, or use recordings.bucket",
        )
    } else {
        ok(
            "recordings dir",
            format!("{} is writable, {gib:.1} GiB free", dir.display()),
        )
    }
}

// The statvfs field types differ between platforms.
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statvfs(path.as_ptr(), &mut st) } == 0)
        .then(|| st.f_bavail as u64 * st.f_frsize as u64)
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
