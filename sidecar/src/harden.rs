//! Process hardening for `bedrud run` on a VM: private files (the database holds password
//! hashes and sessions, recordings are private meetings) and enough file descriptors for
//! the connections the server is meant to hold.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bedrud_shared::config::Config;
use tracing::{info, warn};

/// Everything this process creates from now on is readable by its owner only (0700
/// directories, 0600 files): the database and its WAL, recordings, temp configs. Children
/// (livekit-server) inherit it.
pub fn private_umask() {
    // SAFETY: umask only swaps the process's file-mode mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Tightens what an earlier version left readable: the data directory, the database files
/// beside it, and the recordings directory (recursively).
pub fn tighten_existing(config: &Config) {
    let data = config.database.data_dir();
    if data != Path::new(".") {
        restrict(&data, 0o700);
    }
    let db = &config.database.path;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        restrict(Path::new(&p), 0o600);
    }
    restrict(&data.join("dev-secrets.json"), 0o600);
    restrict_tree(&config.recordings.dir);
}

fn restrict_tree(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    restrict(dir, 0o700);
    for e in entries.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => restrict_tree(&e.path()),
            Ok(t) if t.is_file() => restrict(&e.path(), 0o600),
            _ => {}
        }
    }
}

/// Sets `mode` if the path exists and is more open; a failure is logged, not fatal.
fn restrict(path: &Path, mode: u32) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        Ok(()) => info!(path = %path.display(), mode = format!("{mode:o}"), "made private"),
        Err(e) => warn!(path = %path.display(), error = %e, "could not make private"),
    }
}

/// Raises the open-file soft limit to the hard limit: every connection is a descriptor, and
/// the common default of 1024 is far below what the connection cap allows.
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct passed; no other memory.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    lim.rlim_cur
}
