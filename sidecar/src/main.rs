//! `bedrud`: the all-in-one Bedrud server for VMs, appliances and local development.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bedrud",
    version,
    about = "Bedrud meeting backend (all-in-one server)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the whole API on server.host:server.port (default 127.0.0.1:8090).
    Run {
        /// config.yaml to read (else CONFIG_PATH, else ./config.yaml if present).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check this machine and configuration for the known LiveKit problems (symptom, cause,
    /// fix); exits non-zero if anything failed.
    Doctor {
        /// config.yaml to read (else CONFIG_PATH, else ./config.yaml if present).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Print the configuration `bedrud run` gives the embedded LiveKit (livekit-server YAML),
    /// or with --egress the egress worker's.
    LivekitConfig {
        /// config.yaml to read (else CONFIG_PATH, else ./config.yaml if present).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print the egress worker's config instead (recordings on).
        #[arg(long)]
        egress: bool,
    },
    /// Administer accounts from the machine (the way to get the first admin).
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Import a Bedrud installation's database (read-only) into the configured store: the
    /// embedded database, or DynamoDB when TABLE_NAME is set. Safe to run again.
    Import {
        /// sqlite:PATH (Bedrud's SQLite file) or postgres://user:password@host:port/dbname.
        #[arg(long)]
        from: bedrud_sidecar::import::From,
        /// config.yaml to read (else CONFIG_PATH, else ./config.yaml if present).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// On a conflict (an e-mail or active room name already used here), Bedrud's record
        /// wins: the account here is deleted, the room here archived.
        #[arg(long)]
        overwrite: bool,
        /// Bedrud's recordings directory (`recording.storageDir`): completed recordings'
        /// files are copied from it into this server's recordings store (without it or
        /// --recordings-bucket, they are listed and not carried).
        #[arg(long, conflicts_with = "recordings_bucket")]
        recordings_dir: Option<PathBuf>,
        /// Bedrud's recordings bucket, read with Bedrud's own S3 settings when they name it,
        /// else with the standard AWS environment.
        #[arg(long)]
        recordings_bucket: Option<String>,
    },
    /// Create the DynamoDB table (and, if named, the recordings queue and bucket) the SAM
    /// template declares, for emulators and first deploys. Region, credentials and
    /// AWS_ENDPOINT_URL come from the standard AWS environment.
    AwsInit {
        /// Table name.
        #[arg(long, env = "TABLE_NAME")]
        table: String,
        /// Recordings queue name (FIFO; `.fifo` is added), with its dead-letter queue.
        #[arg(long)]
        queue: Option<String>,
        /// Recordings bucket name.
        #[arg(long)]
        bucket: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// Make an existing account a platform admin (sign up first). Uses the configured store:
    /// the embedded database, or DynamoDB when TABLE_NAME is set.
    Promote {
        #[arg(long)]
        email: String,
        /// config.yaml to read (else CONFIG_PATH, else ./config.yaml if present).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    // One TLS stack: clients that build their rustls config from the process default (the
    // ACME client's) get ring, whatever features the dependency graph unifies.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Run { config } => bedrud_sidecar::run::main(config.as_deref()),
        Command::Doctor { config } => bedrud_sidecar::doctor::main(config.as_deref()),
        Command::LivekitConfig { config, egress } => {
            bedrud_sidecar::livekit_config::print(config.as_deref(), egress)
        }
        Command::Admin {
            action: AdminAction::Promote { email, config },
        } => bedrud_sidecar::admin::promote(config.as_deref(), &email),
        Command::Import {
            from,
            config,
            dry_run,
            overwrite,
            recordings_dir,
            recordings_bucket,
        } => bedrud_sidecar::import::main(bedrud_sidecar::import::Options {
            from,
            config: config.as_deref(),
            dry_run,
            overwrite,
            recordings_dir: recordings_dir.as_deref(),
            recordings_bucket: recordings_bucket.as_deref(),
        }),
        Command::AwsInit {
            table,
            queue,
            bucket,
        } => bedrud_sidecar::aws_init::main(&table, queue.as_deref(), bucket.as_deref()),
    }
}
