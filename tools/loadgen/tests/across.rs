//! `--sub-server`: subscribers and responders on another server, here a leaf node (the server
//! under test, `LOADGEN_TEST_SERVER`) of a nats-server hub (on PATH). The warm-up must wait for the
//! interest to cross the link, so every message and reply is accounted for. Skipped when either
//! binary is missing.

mod support;

use std::path::PathBuf;
use support::{json_lines, run_loadgen, server_binary, server_binary_from, start_server};

/// A leaf-port free now, for the hub's config.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("loadgen-across-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn subscribers_and_responders_across_a_leaf_link() {
    let (Some(leaf_bin), Some(hub_bin)) = (server_binary(), server_binary_from("NATS_SERVER_BIN"))
    else {
        eprintln!("skipped: needs LOADGEN_TEST_SERVER and nats-server");
        return;
    };
    let leaf_port = free_port();
    let hub_conf = write("hub.conf", &format!("leafnodes {{ port: {leaf_port} }}\n"));
    let hub = start_server(&hub_bin, Some(&hub_conf));
    let leaf_conf = write(
        "leaf.conf",
        &format!(
            "leafnodes {{ remotes = [ {{ url: \"nats-leaf://127.0.0.1:{leaf_port}\" }} ] }}\n"
        ),
    );
    let leaf = start_server(&leaf_bin, Some(&leaf_conf));
    let hub_ep = format!("127.0.0.1:{}", hub.port);
    for args in [
        vec![
            "--smoke",
            "--sub-server",
            hub_ep.as_str(),
            "pubsub",
            "--size",
            "16,1k",
        ],
        vec![
            "--smoke",
            "--sub-server",
            hub_ep.as_str(),
            "fanout",
            "--subs",
            "2",
        ],
        vec![
            "--smoke",
            "--sub-server",
            hub_ep.as_str(),
            "reqrep",
            "--inflight",
            "1",
        ],
    ] {
        let (status, text) = run_loadgen("127.0.0.1", leaf.port, &args);
        assert!(status.success(), "{args:?}: {text}");
        let lines = json_lines(&text);
        assert!(!lines.is_empty(), "{args:?}: {text}");
        for l in &lines {
            assert_eq!(l["ok"], true, "{l}");
            assert_eq!(l["received"], l["expected"], "{l}");
        }
    }
}
