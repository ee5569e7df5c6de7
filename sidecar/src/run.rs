//! `bedrud run`: load configuration, fill local secrets, open the store, serve until a signal.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use bedrud_shared::config::{Config, MailProvider, fill_dev_secrets};
use bedrud_shared::runtime::{Counting, StartError, build};
use bedrud_shared::state::AppState;
use bedrud_shared::telemetry;
use bedrud_shared::{reconciler, worker};
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::harden;
use crate::livekit_config::{Listening, generate, outbound_ip};
use crate::metrics::Exporter;
use crate::recorder::Workers;
use crate::supervisor::{self, LIVEKIT, Policy, Program, Source, Supervisor};

/// How often the sidecar reconciles with LiveKit (webhooks normally keep state current).
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub fn main(config_path: Option<&Path>) -> ExitCode {
    crate::block_on(async {
        match run(config_path).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // Logging may not be up yet (bad config): say it plainly on stderr too.
                error!("{e}");
                eprintln!("bedrud: {e}");
                ExitCode::from(2)
            }
        }
    })
}

async fn run(config_path: Option<&Path>) -> Result<(), StartError> {
    harden::private_umask();
    let loaded = Config::load(config_path)?;
    let mut config = loaded.config;
    telemetry::init(&config.logger);
    let files = harden::raise_nofile_limit();
    info!(open_files = files, "file descriptor limit");
    harden::tighten_existing(&config);
    match &loaded.source {
        Some(p) => info!(file = %p.display(), "configuration loaded"),
        None => info!("no config.yaml found; using defaults and environment"),
    }
    if !loaded.ignored_keys.is_empty() {
        warn!(keys = ?loaded.ignored_keys, "config keys not used by bedrud were ignored");
    }
    if let Some((file, filled)) = fill_dev_secrets(&mut config)? {
        warn!(
            file = %file.display(),
            "generated {} for local use and saved them; set auth.jwtSecret (JWT_SECRET) and livekit keys explicitly in production",
            filled.join(" and ")
        );
    }
    config.validate()?;

    let addr = format!("{}:{}", config.server.host, config.server.port);
    let tls = crate::tls::Tls::from_config(&config).map_err(StartError::Io)?;
    if tls.is_some() {
        serve_livekit_through_us(&mut config);
    }
    let state = build(config, Counting::InProcess).await?;
    if let Some(tls) = tls.clone() {
        state.admin.set_certificate(Arc::new(move || tls.report()));
    }
    let (listener, local) = bind(&addr, "server.port / SERVER_PORT").await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    info!(db = %state.config.database.path.display(), "listening on {scheme}://{local}");
    // Before the supervised programs start, so their first phases are counted.
    let metrics = serve_metrics(&state).await?;
    let embedded = embedded_livekit(&state.config, local).await?;
    embedded.report_to(&state);
    // Heals seats and meetings from LiveKit's view when webhooks are lost (or not set up).
    if let Some(r) = state.reconciler() {
        tokio::spawn(reconciler::every(r, RECONCILE_EVERY));
    }
    // Recording processing and account mail, from the embedded queue.
    tokio::spawn(worker::run(state.clone()));
    tokio::spawn(worker::sweep_pending_signups(
        state.clone(),
        worker::SWEEP_EVERY,
    ));
    let rec = &state.config.recordings;
    if rec.retention_hours > 0 {
        let hours = |h: u32| std::time::Duration::from_secs(u64::from(h) * 3600);
        info!(
            hours = rec.retention_hours,
            "recordings of archived rooms are removed after retention"
        );
        tokio::spawn(worker::expire_recordings(
            state.clone(),
            hours(rec.retention_hours),
            hours(rec.cleanup_interval_hours.max(1)),
        ));
    }
    let cors = &state.config.cors;
    if cors.enabled() && cors.allow_credentials && !state.config.server.secure_cookies() {
        warn!(
            "cors.allowCredentials is on, but cookies are SameSite=Lax without server.enableTLS \
             or server.behindProxy: browsers will not send the refresh cookie cross-site"
        );
    }
    match state.config.mail_provider() {
        None => warn!(
            "no mail provider (email.provider / EMAIL_PROVIDER): verification and password \
             reset mail fails and is dead-lettered in the job queue (see the admin queue page)"
        ),
        Some(MailProvider::Log) => info!(
            "mail goes to this log (email.provider: log); set email.provider to smtp to deliver it"
        ),
        Some(p) => info!(provider = p.as_str(), "mail provider"),
    }

    if let Some(dir) = &state.config.server.web_dir {
        if dir.join("index.html").is_file() {
            info!(dir = %dir.display(), "serving the web app");
        } else {
            warn!(
                dir = %dir.display(),
                "server.webDir has no index.html: is it the web app's build output?"
            );
        }
    }
    crate::front::serve(state, listener, local, tls, metrics, shutdown_signal())
        .await
        .map_err(|e| StartError::Io(format!("server failed: {e}")))?;
    embedded.stop().await;
    info!("stopped");
    Ok(())
}

/// The metrics recorder when `metrics.enabled`, and its own listener when `metrics.listen`
/// names one (else `/metrics` shares the API port behind `metrics.token`).
async fn serve_metrics(state: &AppState) -> Result<Option<Arc<Exporter>>, StartError> {
    let Some(exporter) = Exporter::install(state).map_err(StartError::Io)? else {
        return Ok(None);
    };
    if let Some(addr) = &state.config.metrics.listen {
        let (listener, bound) = bind(addr, "metrics.listen / METRICS_LISTEN").await?;
        info!("metrics on http://{bound}/metrics");
        let app = exporter.clone().router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    if state.config.metrics.token.is_some() {
        info!("metrics on the API port at /metrics (bearer metrics.token)");
    }
    Ok(Some(exporter))
}

/// A listener on `addr` and the address it really took (port 0 picks one); a failure names
/// the keys that move it.
async fn bind(addr: &str, keys: &str) -> Result<(TcpListener, std::net::SocketAddr), StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| StartError::Io(format!("cannot listen on {addr}: {e} ({keys})")))?;
    let local = listener
        .local_addr()
        .map_err(|e| StartError::Io(e.to_string()))?;
    Ok((listener, local))
}

/// With HTTPS and the `/livekit` proxy, clients are sent to LiveKit through us
/// (`wss://<domain>/livekit`: one origin, one certificate) unless `livekit.host` names
/// another address.
fn serve_livekit_through_us(config: &mut Config) {
    let untouched = config.livekit.host == Config::default().livekit.host;
    if let (true, true, Some(domain)) = (
        untouched,
        config.livekit.proxied(),
        config.server.domain.as_deref(),
    ) {
        let port = match config.server.port {
            443 => String::new(),
            p => format!(":{p}"),
        };
        config.livekit.host = format!("wss://{domain}{port}/livekit");
        info!(host = %config.livekit.host, "clients reach LiveKit through this server");
    }
}

/// What `bedrud run` supervises beside the API: LiveKit, and for recordings Redis and egress.
#[derive(Default)]
struct Embedded {
    livekit: Option<Supervisor>,
    workers: Option<Workers>,
}

impl Embedded {
    /// The admin LiveKit status shows every supervised program; `recording/start` asks the
    /// workers first.
    fn report_to(&self, state: &AppState) {
        let Some(lk) = &self.livekit else { return };
        let livekit = lk.reporter();
        let workers = self.workers.as_ref().map(|w| {
            state.recordings.set_workers(Arc::new(w.readiness()));
            w.reporter()
        });
        state.admin.set_supervisor(Arc::new(move || {
            let mut v = livekit();
            if let Some(w) = &workers {
                let mut both = w();
                v["redis"] = both["redis"].take();
                v["egress"] = both["egress"].take();
            }
            v
        }));
    }

    /// Egress first (it records from LiveKit), then LiveKit, then the Redis both use.
    async fn stop(self) {
        let (redis, egress) = match self.workers {
            Some(w) => (Some(w.redis), Some(w.egress)),
            None => (None, None),
        };
        if let Some(e) = egress {
            e.stop().await;
        }
        if let Some(lk) = self.livekit {
            lk.stop().await;
            info!("embedded LiveKit stopped");
        }
        if let Some(r) = redis {
            r.stop().await;
        }
    }
}

/// The embedded LiveKit, unless LiveKit is external: started from `livekit.configPath` as is,
/// or from a config generated for the address this server really listens on, after the
/// Redis it records with. Without a `livekit-server` binary the API still serves, and says
/// once how to get one.
async fn embedded_livekit(
    config: &Config,
    local: std::net::SocketAddr,
) -> Result<Embedded, StartError> {
    let lk = &config.livekit;
    if lk.external {
        info!(host = %lk.host, "using external LiveKit");
        return Ok(Embedded::default());
    }
    let stale = supervisor::remove_stale_configs(&std::env::temp_dir());
    if stale > 0 {
        info!(stale, "removed config files left by stopped processes");
    }
    let Some(binary) = supervisor::find_binary(&LIVEKIT, lk.binary_path.as_deref()) else {
        warn!(
            "livekit-server not found (livekit.binaryPath, LIVEKIT_BIN, PATH): meetings cannot \
             start until it is installed (https://docs.livekit.io/home/self-hosting/local/) or \
             livekit.external is set with livekit.host/apiKey/apiSecret; accounts and every \
             other API keep working"
        );
        return Ok(Embedded::default());
    };
    let generated = lk.config_path.is_none();
    let workers = Workers::start(config, generated, &Policy::default()).await?;
    let source = if let Some(path) = &lk.config_path {
        Source::given(
            path,
            "livekit.configPath",
            "LIVEKIT_CONFIG_PATH",
            "livekit.yaml",
        )?
    } else {
        let listening = Listening {
            ip: local.ip(),
            port: local.port(),
        };
        let mut generated = generate(config, &listening, outbound_ip)?;
        if let Some(w) = &workers {
            generated.redis = w.block.clone();
        }
        Source::Generated(generated.to_yaml())
    };
    let version = supervisor::version(&binary).await;
    info!(binary = %binary.display(), version = version.as_deref().unwrap_or("?"), "starting the embedded LiveKit");
    let program = Program::livekit(binary, source, lk.port);
    Ok(Embedded {
        livekit: Some(Supervisor::run(program, Policy::default()).with_version(version)),
        workers,
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    info!("shutdown signal received; finishing in-flight requests");
}
