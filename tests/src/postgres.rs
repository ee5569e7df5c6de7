//! A throwaway PostgreSQL server for tests: Debian's `postgresql` binaries, a cluster made by
//! `initdb` in a temp dir, listening on a free loopback port, stopped (by `pg_ctl`) on drop.
//! PostgreSQL refuses to run as root, so as root the cluster runs as `nobody`.

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

const NOBODY: u32 = 65534;

/// The directory holding `initdb` and `pg_ctl`: on PATH, else Debian's versioned one.
fn bindir() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
    let debian = std::fs::read_dir("/usr/lib/postgresql").ok().and_then(|d| {
        d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").is_file())
            .max()
    });
    on_path.or(debian).expect(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql \
         package (.ci/tools.sh does)",
    )
}

impl Postgres {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            let path = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes()).unwrap();
            assert_eq!(unsafe { libc::chown(path.as_ptr(), NOBODY, NOBODY) }, 0);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Self {
            dir,
            bin: bindir(),
            port,
        };
        let data = pg.dir.path().join("data");
        pg.server_cmd(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "bedrud",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        );
        let opts = format!("-h 127.0.0.1 -p {port} -k {}", pg.dir.path().display());
        let log = pg.dir.path().join("server.log");
        pg.server_cmd(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
        pg
    }

    /// Runs a server binary, as `nobody` when we are root; panics with its output on failure.
    fn server_cmd(&self, name: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(name);
        let mut cmd = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// A URL for database `db` as the cluster's superuser.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://bedrud@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL through `psql`, stopping at the first error.
    pub fn psql(&self, db: &str, sql: &str) {
        let psql = Some(self.bin.join("psql")).filter(|p| p.is_file());
        let out = Command::new(psql.unwrap_or_else(|| "psql".into()))
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-d",
                &self.url(db),
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = std::panic::catch_unwind(|| {
            self.server_cmd(
                "pg_ctl",
                &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
            )
        });
    }
}
