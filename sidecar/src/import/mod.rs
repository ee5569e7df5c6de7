//! `bedrud import --from sqlite:PATH | postgres://…`: carries a Bedrud installation's accounts
//! (ids, e-mails, bcrypt hashes, roles, preferences, passkeys, provider ids), rooms (active and
//! archived, settings, bans and moderators), unused invites, runtime settings and finished
//! recordings (files from its directory or bucket) into the configured store (the embedded
//! database, or DynamoDB with `TABLE_NAME`). The Bedrud database is only read. A
//! second run writes nothing; `--dry-run` writes nothing at all. Exit status: 0 when every
//! row was carried or deliberately left behind, 1 when some rows were skipped or conflicted
//! (each listed with its reason), 2 when the import could not run.

mod apply;
mod fields;
mod files;
mod plan;
mod progress;
mod source;

use std::path::Path;
use std::process::ExitCode;

use bedrud_shared::config::Config;
use bedrud_shared::runtime::{open_stores, recording_blobs};

pub use source::From;

pub struct Options<'a> {
    pub from: From,
    pub config: Option<&'a Path>,
    pub dry_run: bool,
    pub overwrite: bool,
    /// Bedrud's recordings directory: completed recordings' files are copied from it.
    pub recordings_dir: Option<&'a Path>,
    /// Or Bedrud's recordings bucket.
    pub recordings_bucket: Option<&'a str>,
}

pub fn main(opts: Options<'_>) -> ExitCode {
    crate::block_on(async {
        match run(&opts).await {
            Ok(clean) if clean => ExitCode::SUCCESS,
            Ok(_) => ExitCode::from(1),
            Err(e) => {
                eprintln!("bedrud import: {e}");
                ExitCode::from(2)
            }
        }
    })
}

/// Runs the import and prints its report; `Ok(false)` when some rows were not carried.
async fn run(opts: &Options<'_>) -> Result<bool, String> {
    let config = Config::load(opts.config).map_err(|e| e.to_string())?.config;
    let source = source::Source::open(&opts.from).await?;
    let settings = source.rows("system_settings").await?;
    let settings = plan::settings_row(&settings);
    let files = match (opts.recordings_dir, opts.recordings_bucket) {
        (Some(dir), _) => Some(files::Files::dir(dir)?),
        (None, Some(bucket)) => Some(files::Files::bucket(bucket, settings)?),
        (None, None) => None,
    };
    let now = bedrud_shared::domain::now();
    let plan = plan::plan(&source, settings, now, files.as_ref()).await?;
    let (stores, media) = open_stores(&config).await.map_err(|e| e.to_string())?;
    // On DynamoDB the recordings bucket is the target even without the processing queue.
    let blobs = match media.blobs {
        Some(b) => Some(b),
        None if config.recordings.bucket.is_some() => {
            Some(recording_blobs(&config).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    if files.is_some() && blobs.is_none() {
        return Err(
            "recording files need somewhere to go here: name the recordings bucket \
                    (recordings.bucket, BUCKET_NAME)"
                .into(),
        );
    }
    let in_place = match (&files, &config.recordings.bucket) {
        (Some(f), Some(target)) => f.in_bucket(target),
        _ => false,
    };
    let mut progress = progress::Progress::new(plan.total());
    let writer = apply::Writer {
        stores: &stores,
        blobs: blobs.as_deref(),
        files: files.as_ref(),
        in_place,
        dry_run: opts.dry_run,
        overwrite: opts.overwrite,
    };
    let report = writer.apply(&plan, &mut progress).await?;
    progress.finish();
    print(&plan, &report, opts.dry_run);
    if let Some(f) = files.as_ref().filter(|_| in_place) {
        println!(
            "recording files stay where Bedrud put them in {}, this server's recordings bucket",
            f.place
        );
    }
    Ok(plan.skipped.is_empty() && report.conflicts.is_empty())
}

fn print(plan: &plan::Plan, report: &apply::Report, dry_run: bool) {
    let verb = if dry_run { "would write" } else { "written" };
    println!(
        "{:<14} {:>11} {:>10} {:>9} {:>8}",
        "", verb, "unchanged", "conflicts", "skipped"
    );
    let kinds: std::collections::BTreeSet<plan::Kind> = report
        .counts
        .keys()
        .copied()
        .chain(plan.skipped.iter().map(|s| s.kind))
        .collect();
    for kind in kinds {
        let c = report.counts.get(&kind).copied().unwrap_or_default();
        let skipped = plan.skipped.iter().filter(|s| s.kind == kind).count();
        println!(
            "{:<14} {:>11} {:>10} {:>9} {:>8}",
            kind.to_string(),
            c.written,
            c.unchanged,
            c.conflicts,
            skipped
        );
    }
    for s in &plan.skipped {
        println!("skipped {} {}: {}", singular(s.kind), s.id, s.reason);
    }
    for s in &report.conflicts {
        println!("conflict {} {}: {}", singular(s.kind), s.id, s.reason);
    }
    for line in &plan.left_behind {
        println!("not carried: {line}");
    }
    let written = report.written();
    if dry_run {
        println!("dry run: nothing was written ({written} records would be)");
    } else if written == 0 {
        println!("nothing to write: the target already holds everything this import carries");
    } else {
        println!("imported {written} records; users sign in again (sessions are not carried)");
    }
}

fn singular(kind: plan::Kind) -> &'static str {
    match kind {
        plan::Kind::User => "user",
        plan::Kind::Preferences => "preferences of",
        plan::Kind::Room => "room",
        plan::Kind::Member => "member",
        plan::Kind::Invite => "invite",
        plan::Kind::Setting => "setting",
        plan::Kind::Recording => "recording",
        plan::Kind::Passkey => "passkey",
        plan::Kind::Link => "provider id",
    }
}
