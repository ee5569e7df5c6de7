//! A real ACME CA for the tests: Let's Encrypt's `pebble` (Debian package, which `.ci/tools.sh`
//! installs) on loopback, with `pebble-challtestsrv` as its DNS server answering 127.0.0.1 for
//! every name, so HTTP-01 validation connects to the server under test. Both are stopped by
//! PID on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::run_binary::free_port;

pub(crate) struct Pebble {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    /// The ACME directory URL.
    pub directory: String,
    /// The root that pebble's API certificate chains to (`server.acme.caRoot`).
    pub api_root: PathBuf,
    management: u16,
}

impl Pebble {
    /// Pebble validating HTTP-01 on `http_port`, issuing certificates valid for `validity`.
    pub fn start(http_port: u16, validity: Duration) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Pebble's API is HTTPS: a CA of our own for it.
        let ca = crate::tls::Ca::new();
        let (cert, key, _) = ca.leaf(&["127.0.0.1", "localhost"]);
        let api_root = dir.path().join("api-root.pem");
        std::fs::write(&api_root, ca.pem()).unwrap();
        std::fs::write(dir.path().join("api.pem"), cert).unwrap();
        std::fs::write(dir.path().join("api.key"), key).unwrap();

        let (api, management, dns) = (free_port(), free_port(), free_port());
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{api}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.path().join("api.pem"),
            "privateKey": dir.path().join("api.key"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity.as_secs(),
        }});
        let config_path = dir.path().join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let logs = dir.path().to_path_buf();
        let log = |name: &str| std::fs::File::create(logs.join(name)).unwrap();

        let dns_server = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{}", free_port())])
            .stdout(log("challtestsrv.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (Debian package pebble; .ci/tools.sh installs it)");
        let mut me = Self {
            directory: format!("https://127.0.0.1:{api}/dir"),
            api_root,
            management,
            children: vec![dns_server],
            dir,
        };
        let ca_server = Command::new("pebble")
            .args(["-config", config_path.to_str().unwrap()])
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            // No random validation delays or refused nonces: the run is deterministic.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log("pebble.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian package pebble; .ci/tools.sh installs it)");
        me.children.push(ca_server);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", api)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pebble did not start: {}",
                me.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        me
    }

    /// The root the certificates pebble issues chain to (fetched from its management API).
    pub async fn issuing_root(&self) -> String {
        let root = reqwest::Certificate::from_pem(&std::fs::read(&self.api_root).unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .add_root_certificate(root)
            .build()
            .unwrap();
        client
            .get(format!("https://127.0.0.1:{}/roots/0", self.management))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Pebble's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
