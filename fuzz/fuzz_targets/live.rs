//! libFuzzer target: a live corenats server (two shards, in this process) fed arbitrary client bytes;
//! the check is in `bodies/live.rs` (shared with the stable test). A panic anywhere ends the process,
//! which the fuzzer reports; every 64 inputs a fresh client must still get PONG.
#![no_main]

#[path = "../bodies/live.rs"]
mod body;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Starts the server once, on a free port, and returns the port.
fn server() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let text = body::CONF.replace("{port}", &port.to_string());
        let loaded = corenats::config::parse_str(&text, std::path::Path::new("live.conf"), false)
            .expect("the fuzz configuration loads");
        let mut config = loaded.config;
        config.host = "127.0.0.1".into();
        config.cores = Some(2);
        let boot = corenats::Boot {
            config,
            config_digest: String::new(),
            source: corenats::config::Source::default(),
        };
        std::thread::spawn(move || corenats::run(boot));
        for _ in 0..500 {
            if body::alive(port).is_ok() {
                return port;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the server did not start");
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let port = server();
    body::check(port, data);
    if RUNS.fetch_add(1, Ordering::Relaxed) % 64 == 63 {
        if let Err(e) = body::alive(port) {
            panic!("the server stopped answering: {e}");
        }
    }
});
