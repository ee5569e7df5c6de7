//! The embedded LiveKit's generated configuration: golden output, the node-IP chain, TURN on
//! the server's certificate, refusals, and the temp file it is written to. Parsed back to
//! check that every key is one `livekit-server` knows (its parser is strict) and integers
//! stay integers.

use std::net::IpAddr;
use std::process::Command;

use bedrud_shared::config::Config;
use bedrud_sidecar::livekit_config::{Listening, generate};
use bedrud_sidecar::supervisor::write_temp;
use serde_yaml_ng::Value;

fn config() -> Config {
    let mut c = Config::default();
    c.livekit.api_key = Some("APIembedded".into());
    c.livekit.api_secret = Some("embedded-secret-0123456789abcdef0123".into());
    c
}

fn on(port: u16) -> Listening {
    Listening {
        ip: IpAddr::from([127, 0, 0, 1]),
        port,
    }
}

fn no_outbound() -> Option<IpAddr> {
    None
}

/// Top-level and nested keys `livekit-server` accepts (pkg/config/config.go).
fn assert_known_keys(v: &Value) {
    let allowed = [
        "port",
        "bind_addresses",
        "keys",
        "key_file",
        "development",
        "region",
        "logging",
        "redis",
        "room",
        "turn",
        "webhook",
        "prometheus",
        "debug_handler",
        "limit",
        "rtc",
    ];
    for (k, _) in v.as_mapping().unwrap() {
        let k = k.as_str().unwrap();
        assert!(allowed.contains(&k), "livekit-server does not know `{k}`");
    }
    let rtc = [
        "tcp_port",
        "port_range_start",
        "port_range_end",
        "udp_port",
        "use_external_ip",
        "node_ip",
        "stun_servers",
        "turn_servers",
    ];
    for (k, _) in v["rtc"].as_mapping().unwrap() {
        assert!(rtc.contains(&k.as_str().unwrap()), "rtc.{k:?}");
    }
}

#[test]
fn golden_without_tls() {
    let mut c = config();
    c.livekit.node_ip = Some("203.0.113.7".into());
    let yaml = generate(&c, &on(8090), no_outbound).unwrap().to_yaml();
    assert_eq!(
        yaml,
        "port: 7880
keys:
  APIembedded: embedded-secret-0123456789abcdef0123
rtc:
  tcp_port: 7881
  port_range_start: 50000
  port_range_end: 60000
  use_external_ip: false
  node_ip: 203.0.113.7
room:
  auto_create: true
  empty_timeout: 300
  departure_timeout: 20
webhook:
  api_key: APIembedded
  urls:
  - http://127.0.0.1:8090/api/livekit/webhook
logging:
  level: info
  json: false
"
    );
    let v: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_known_keys(&v);
    assert!(v["port"].is_u64() && v["rtc"]["port_range_start"].is_u64());
    assert!(v.get("tls").is_none() && v.get("bind_addresses").is_none());
}

/// `redis.*` (env `REDIS_*`) becomes LiveKit's `redis:` block with exactly its keys
/// (`livekit/protocol` `RedisConfig`); without an address there is none.
#[test]
fn redis_block_only_when_an_address_is_given() {
    let mut c = config();
    c.livekit.node_ip = Some("203.0.113.7".into());
    let plain = generate(&c, &on(8090), no_outbound).unwrap().to_yaml();
    assert!(!plain.contains("redis"), "{plain}");
    c.redis.address = Some("127.0.0.1:6379".into());
    let yaml = generate(&c, &on(8090), no_outbound).unwrap().to_yaml();
    assert!(
        yaml.ends_with("redis:\n  address: 127.0.0.1:6379\n"),
        "defaults are left out: {yaml}"
    );
    c.redis.username = Some("livekit".into());
    c.redis.password = Some("redis-pass".into());
    c.redis.db = 2;
    c.redis.use_tls = true;
    let yaml = generate(&c, &on(8090), no_outbound).unwrap().to_yaml();
    assert!(
        yaml.ends_with(
            "redis:\n  address: 127.0.0.1:6379\n  username: livekit\n  password: redis-pass\n  db: 2\n  use_tls: true\n"
        ),
        "{yaml}"
    );
    let v: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_known_keys(&v);
    let known = ["address", "username", "password", "db", "use_tls"];
    for (k, _) in v["redis"].as_mapping().unwrap() {
        assert!(known.contains(&k.as_str().unwrap()), "redis.{k:?}");
    }
    assert!(v["redis"]["db"].is_u64() && v["redis"]["use_tls"].is_bool());
}

#[test]
fn node_ip_comes_from_config_then_host_then_the_outbound_route() {
    let outbound = || Some(IpAddr::from([198, 51, 100, 4]));
    let node = |c: &Config| {
        generate(c, &on(8090), outbound)
            .unwrap()
            .rtc
            .node_ip
            .clone()
    };
    let mut c = config();
    c.livekit.node_ip = Some("203.0.113.7".into());
    c.server.host = "10.0.0.5".into();
    assert_eq!(node(&c).as_deref(), Some("203.0.113.7"));
    c.livekit.node_ip = None;
    assert_eq!(node(&c).as_deref(), Some("10.0.0.5"));
    c.server.host = "0.0.0.0".into();
    assert_eq!(node(&c).as_deref(), Some("198.51.100.4"));
    // Nothing known: neither node_ip nor use_external_ip is written.
    let g = generate(&c, &on(8090), no_outbound).unwrap();
    assert!(g.rtc.node_ip.is_none() && g.rtc.use_external_ip.is_none());
    // Listening on every address: LiveKit calls back on loopback, on the port we really have.
    let any = Listening {
        ip: IpAddr::from([0, 0, 0, 0]),
        port: 41234,
    };
    let g = generate(&c, &any, no_outbound).unwrap();
    assert_eq!(
        g.webhook.urls,
        ["http://127.0.0.1:41234/api/livekit/webhook"]
    );
    // A bad node IP is refused with the key and the fix.
    c.livekit.node_ip = Some("not-an-ip".into());
    let e = generate(&c, &on(8090), no_outbound)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("livekit.nodeIP") && e.contains("LIVEKIT_NODE_IP"),
        "{e}"
    );
}

#[test]
fn tls_turns_on_turn_with_the_servers_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, "cert").unwrap();
    std::fs::write(&key, "key").unwrap();
    let mut c = config();
    c.server.enable_tls = true;
    c.server.host = "meet.example.com".into();
    c.server.cert_file = Some(cert);
    c.server.key_file = Some(key);
    let g = generate(&c, &on(443), no_outbound).unwrap();
    let yaml = g.to_yaml();
    let v: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_known_keys(&v);
    let turn = &v["turn"];
    assert_eq!(turn["enabled"], Value::Bool(true));
    assert_eq!(turn["domain"].as_str(), Some("meet.example.com"));
    assert_eq!(
        (turn["tls_port"].as_u64(), turn["udp_port"].as_u64()),
        (Some(5349), Some(3478))
    );
    assert_eq!(
        turn["cert_file"].as_str(),
        c.server.cert_file.as_deref().and_then(|p| p.to_str())
    );
    assert_eq!(
        g.webhook.urls,
        ["https://meet.example.com:443/api/livekit/webhook"]
    );
    // server.domain wins over the bind host.
    c.server.host = "0.0.0.0".into();
    c.server.domain = Some("rtc.example.org".into());
    let g = generate(&c, &on(443), no_outbound).unwrap();
    assert_eq!(g.turn.unwrap().domain, "rtc.example.org");

    // Refusals: no certificate, or no domain to put on it.
    let mut bad = c.clone();
    bad.server.cert_file = Some(dir.path().join("missing.pem"));
    let e = generate(&bad, &on(443), no_outbound)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("server.certFile") && e.contains("SERVER_CERT_FILE"),
        "{e}"
    );
    let mut bad = c.clone();
    bad.server.domain = None;
    bad.server.host = "10.0.0.5".into();
    let e = generate(&bad, &on(443), no_outbound)
        .unwrap_err()
        .to_string();
    assert!(e.contains("server.domain"), "{e}");
}

#[test]
fn the_temp_file_is_private_named_and_removed_on_drop() {
    use std::os::unix::fs::PermissionsExt;
    let g = generate(&config(), &on(8090), no_outbound).unwrap();
    let path = write_temp("livekit", &g.to_yaml()).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let pid = std::process::id();
    assert!(
        name.starts_with(&format!("bedrud-livekit-{pid}-")) && name.ends_with(".conf"),
        "{name}"
    );
    assert!(path.starts_with(std::env::temp_dir()));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "it holds the API secret");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), g.to_yaml());
    let kept = path.to_path_buf();
    drop(path);
    assert!(!kept.exists());
}

#[test]
fn the_command_prints_what_run_would_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bedrud"))
        .current_dir(dir.path())
        .args(["livekit-config"])
        .env("LIVEKIT_NODE_IP", "203.0.113.9")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    assert_known_keys(&v);
    assert_eq!(v["rtc"]["node_ip"].as_str(), Some("203.0.113.9"));
    assert_eq!(
        v["webhook"]["urls"][0].as_str(),
        Some("http://127.0.0.1:8090/api/livekit/webhook")
    );
    // The generated local keys are the ones `bedrud run` signs with.
    assert!(dir.path().join("data/dev-secrets.json").is_file());
}
