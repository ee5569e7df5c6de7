//! Recording on the embedded LiveKit needs two more programs: a Redis shared by LiveKit and
//! its egress worker (without it LiveKit answers every egress request "permission denied"),
//! and the egress worker itself. `bedrud run` uses the operator's Redis (`redis.address`) or
//! starts a private `redis-server` on loopback, then supervises `egress` with a generated
//! config; whatever is missing is said once at start and answered as a 503 by
//! `recording/start`.

use std::path::PathBuf;

use bedrud_shared::config::{Config, ConfigError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::livekit_config::{Logging, Redis, logging};
use crate::supervisor::{
    self, EGRESS, Phase, Policy, Probe, Program, REDIS, Source, Supervisor, Tool,
};

/// One of the two workers, as `bedrud run` found it.
pub enum Side {
    /// Someone else runs it (`redis.address`, `egress.external`): not started, not checked.
    External,
    /// Needed but not there: what to do about it.
    Missing(String),
    Supervised(Supervisor),
}

impl Side {
    pub async fn stop(self) {
        if let Side::Supervised(s) = self {
            s.stop().await;
        }
    }

    /// What readiness checks and reports hold on to.
    fn watch(&self) -> Watched {
        match self {
            Side::External => Watched::External,
            Side::Missing(fix) => Watched::Missing(fix.clone()),
            Side::Supervised(s) => Watched::Supervised(s.watch()),
        }
    }
}

/// Redis and egress for the embedded LiveKit, when recordings are on.
pub struct Workers {
    pub redis: Side,
    pub egress: Side,
    /// The `redis:` block LiveKit and egress share.
    pub block: Option<Redis>,
}

impl Workers {
    /// Starts what recordings need: Redis first (waiting for its `PONG`, since LiveKit exits
    /// at start on a Redis it cannot reach), then the egress worker. `None` when recordings
    /// are off. `generated`: LiveKit's config is ours, so a private Redis can go into it
    /// (with `livekit.configPath` only the operator's `redis.address` can).
    pub async fn start(
        config: &Config,
        generated: bool,
        policy: &Policy,
    ) -> Result<Option<Workers>, ConfigError> {
        if !config.recordings.enabled {
            return Ok(None);
        }
        let (redis, block) = match RedisPlan::new(config, generated)? {
            RedisPlan::External(block) => (Side::External, Some(block)),
            RedisPlan::Missing(fix) => (Side::Missing(fix), None),
            RedisPlan::Local {
                program,
                block,
                dir,
            } => {
                std::fs::create_dir_all(&dir).map_err(|e| {
                    ConfigError::new(
                        "database.path",
                        format!("cannot create {} for Redis: {e}", dir.display()),
                        "make the data directory writable by this user",
                    )
                })?;
                let mut s = start(program, policy).await;
                // Bounded: the API must not wait on a Redis that never answers (LiveKit then
                // restarts until it does, and the status says why).
                let up = s.wait_for(|p| matches!(p, Phase::Running { .. } | Phase::GaveUp { .. }));
                let _ = tokio::time::timeout(policy.ready_timeout, up).await;
                (Side::Supervised(s), Some(block))
            }
        };
        let egress = match egress_program(config, block.as_ref())? {
            EgressPlan::External => Side::External,
            EgressPlan::Missing(fix) => Side::Missing(fix),
            EgressPlan::Local(program) => Side::Supervised(start(*program, policy).await),
        };
        for (side, what) in [(&redis, "Redis"), (&egress, "LiveKit Egress")] {
            if let Side::Missing(fix) = side {
                warn!("recordings are enabled but cannot start: recording needs {what}: {fix}");
            }
        }
        Ok(Some(Workers {
            redis,
            egress,
            block,
        }))
    }

    /// For `recording/start`: whether both workers are up, else what is missing.
    pub fn readiness(&self) -> impl Fn() -> Result<(), String> + Send + Sync + 'static {
        let (redis, egress) = (self.redis.watch(), self.egress.watch());
        move || {
            redis.ready("Redis")?;
            egress.ready("LiveKit Egress")
        }
    }

    /// Both workers' phases for the admin LiveKit status.
    pub fn reporter(&self) -> impl Fn() -> serde_json::Value + Send + Sync + 'static {
        let (redis, egress) = (self.redis.watch(), self.egress.watch());
        move || serde_json::json!({ "redis": redis.report(), "egress": egress.report() })
    }
}

/// A read-only view of a [`Side`] that closures can own.
enum Watched {
    External,
    Missing(String),
    Supervised(supervisor::Watch),
}

impl Watched {
    fn ready(&self, what: &str) -> Result<(), String> {
        match self {
            Watched::External => Ok(()),
            Watched::Missing(fix) => Err(format!("recording needs {what}: {fix}")),
            Watched::Supervised(w) => match w.phase() {
                Phase::Running { .. } => Ok(()),
                // The reason (ports, paths) is for admins: the log and the LiveKit status.
                Phase::GaveUp { .. } => Err(format!(
                    "recording needs {what}: it stopped and is not restarted; an admin finds why in the server log or the LiveKit status"
                )),
                _ => Err(format!(
                    "recording needs {what}: it is not running yet; try again shortly"
                )),
            },
        }
    }

    fn report(&self) -> serde_json::Value {
        match self {
            Watched::External => serde_json::json!({ "state": "external" }),
            Watched::Missing(fix) => serde_json::json!({ "state": "missing", "fix": fix }),
            Watched::Supervised(w) => w.report(),
        }
    }
}

async fn start(program: Program, policy: &Policy) -> Supervisor {
    let version = supervisor::version(&program.binary).await;
    info!(
        binary = %program.binary.display(),
        version = version.as_deref().unwrap_or("?"),
        "starting {}", program.tool.name
    );
    Supervisor::run(program, policy.clone()).with_version(version)
}

/// Where Redis comes from.
pub enum RedisPlan {
    /// `redis.address`: the operator's.
    External(Redis),
    /// A private `redis-server` on loopback, working in `dir`.
    Local {
        program: Program,
        block: Redis,
        dir: PathBuf,
    },
    Missing(String),
}

impl RedisPlan {
    pub fn new(config: &Config, generated: bool) -> Result<Self, ConfigError> {
        if let Some(block) = Redis::operators(config) {
            return Ok(RedisPlan::External(block));
        }
        if !generated {
            return Ok(RedisPlan::Missing(
                "livekit.configPath is used as is: set redis.address (REDIS_ADDRESS) to the \
                 Redis its redis: block names, so the egress worker shares it"
                    .into(),
            ));
        }
        let r = &config.redis;
        let Some(binary) = supervisor::find_binary(&REDIS, r.binary_path.as_deref()) else {
            return Ok(RedisPlan::Missing(not_found(
                &REDIS,
                "or point redis.address (REDIS_ADDRESS) at a Redis you run",
            )));
        };
        let port = match r.port {
            0 => free_port().map_err(|e| {
                ConfigError::new(
                    "redis.port",
                    format!("no free loopback port: {e}"),
                    "set redis.port (REDIS_PORT)",
                )
            })?,
            p => p,
        };
        let dir = std::path::absolute(config.database.data_dir().join("redis"))
            .unwrap_or_else(|_| config.database.data_dir().join("redis"));
        let password = redis_password(config)?;
        let block = Redis {
            address: format!("127.0.0.1:{port}"),
            username: None,
            password: Some(password.clone()),
            db: 0,
            use_tls: false,
        };
        let program = Program {
            tool: &REDIS,
            binary,
            config: Source::Generated(redis_conf(port, &password, &dir)),
            config_flag: None,
            probe: Probe::Redis {
                port,
                password: Some(password),
            },
            port_key: "redis.port",
            kind: "redis",
        };
        Ok(RedisPlan::Local {
            program,
            block,
            dir,
        })
    }
}

impl RedisPlan {
    /// The `redis:` block LiveKit and egress get, if there is a Redis.
    pub fn block(&self) -> Option<&Redis> {
        match self {
            RedisPlan::External(b) | RedisPlan::Local { block: b, .. } => Some(b),
            RedisPlan::Missing(_) => None,
        }
    }
}

/// The private Redis: loopback only, a password, no persistence (LiveKit keeps live routing
/// state there, stale after a restart), its working directory under the data directory.
pub fn redis_conf(port: u16, password: &str, dir: &std::path::Path) -> String {
    format!(
        "# generated by bedrud run\nbind 127.0.0.1\nport {port}\nprotected-mode yes\n\
         daemonize no\nrequirepass {password}\ndir \"{}\"\nsave \"\"\nappendonly no\n\
         logfile \"\"\n",
        dir.display()
    )
}

/// The private Redis's password, derived from the LiveKit secret: stable across restarts
/// (so the printed configs stay true) and never stored.
fn redis_password(config: &Config) -> Result<String, ConfigError> {
    let (_, secret) = config.require_livekit_keys()?;
    let digest = Sha256::new()
        .chain_update(b"bedrud redis password\0")
        .chain_update(secret.as_bytes())
        .finalize();
    Ok(digest.iter().take(24).map(|b| format!("{b:02x}")).collect())
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn not_found(tool: &Tool, otherwise: &str) -> String {
    format!(
        "{} was not found ({}, {}, PATH): {}, {otherwise}",
        tool.name, tool.key, tool.env, tool.install
    )
}

enum EgressPlan {
    External,
    Local(Box<Program>),
    Missing(String),
}

fn egress_program(config: &Config, redis: Option<&Redis>) -> Result<EgressPlan, ConfigError> {
    let e = &config.egress;
    if e.external {
        return Ok(EgressPlan::External);
    }
    let Some(binary) = supervisor::find_binary(&EGRESS, e.binary_path.as_deref()) else {
        return Ok(EgressPlan::Missing(not_found(
            &EGRESS,
            "or set egress.external (EGRESS_EXTERNAL) if a worker runs elsewhere",
        )));
    };
    let (source, port) = match &e.config_path {
        Some(path) => (
            Source::given(
                path,
                "egress.configPath",
                "EGRESS_CONFIG_PATH",
                "egress.yaml",
            )?,
            e.health_port,
        ),
        None => {
            let Some(redis) = redis else {
                return Ok(EgressPlan::Missing(
                    "it needs the Redis LiveKit uses, and there is none (see the Redis warning)"
                        .into(),
                ));
            };
            let generated = egress_config(config, redis.clone())?;
            let port = generated.health_port;
            (Source::Generated(generated.to_yaml()), port)
        }
    };
    if port == 0 {
        return Err(ConfigError::new(
            "egress.healthPort",
            "is needed to tell whether the worker is up",
            "set egress.healthPort (EGRESS_HEALTH_PORT) to the health_port of egress.configPath",
        ));
    }
    Ok(EgressPlan::Local(Box::new(Program {
        tool: &EGRESS,
        binary,
        config: source,
        config_flag: Some("--config"),
        probe: Probe::Http { port },
        port_key: "egress.healthPort",
        kind: "egress",
    })))
}

/// LiveKit Egress's service config (`livekit/egress` `config.ServiceConfig`): the keys it
/// needs to take jobs from the embedded LiveKit; each job's output (a file under the
/// recordings directory, or S3) comes with the request.
#[derive(Debug, Serialize)]
pub struct EgressServiceConfig {
    pub api_key: String,
    pub api_secret: String,
    pub ws_url: String,
    pub redis: Redis,
    pub health_port: u16,
    #[serde(skip_serializing_if = "is_zero")]
    pub prometheus_port: u16,
    pub logging: Logging,
    /// Its recorder (Chrome) joins the room over the plain `ws://` loopback URL.
    pub insecure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3>,
}

#[derive(Debug, Serialize)]
pub struct S3 {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub bucket: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force_path_style: bool,
}

pub fn egress_config(config: &Config, redis: Redis) -> Result<EgressServiceConfig, ConfigError> {
    let (key, secret) = config.require_livekit_keys()?;
    let rec = &config.recordings;
    let health_port = match config.egress.health_port {
        0 => free_port().map_err(|e| {
            ConfigError::new(
                "egress.healthPort",
                format!("no free port: {e}"),
                "set egress.healthPort (EGRESS_HEALTH_PORT)",
            )
        })?,
        p => p,
    };
    Ok(EgressServiceConfig {
        api_key: key.to_string(),
        api_secret: secret.to_string(),
        ws_url: format!("ws://127.0.0.1:{}", config.livekit.port),
        redis,
        health_port,
        prometheus_port: config.egress.prometheus_port,
        logging: logging(config),
        insecure: true,
        s3: rec.bucket.clone().map(|bucket| S3 {
            access_key: rec.access_key.clone(),
            secret: rec.secret.as_ref().map(|s| s.expose().to_string()),
            region: rec.region.clone().unwrap_or_default(),
            endpoint: rec.endpoint.clone(),
            bucket,
            force_path_style: rec.force_path_style,
        }),
    })
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

impl EgressServiceConfig {
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).expect("plain data serializes")
    }
}
