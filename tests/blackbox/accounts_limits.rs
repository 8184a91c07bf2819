//! Raw protocol: account limits (max_connections as an account aggregate; max_subscriptions and
//! max_payload per connection, the lower of server and account) and the server's max_subscriptions
//!.

use crate::common::tenancy::*;
use crate::common::*;

const CONF: &str = r#"
max_subscriptions: 4
accounts {
  LC { users: [ {user: lc, password: x} ], limits: {max_connections: 2} }
  LS { users: [ {user: ls, password: x} ], limits: {max_subscriptions: 2} }
  LP { users: [ {user: lp, password: x} ], limits: {max_payload: 100} }
  HI { users: [ {user: hi, password: x} ], limits: {max_subs: 10} }
  M  { users: [ {user: m, password: x} ] }
}
"#;

fn server() -> Server {
    Server::start(ServerOpts::conf(CONF))
}

#[test]
fn account_max_connections() {
    let s = server();
    let c1 = login(&s, "lc", "x");
    let _c2 = login(&s, "lc", "x");
    let mut c3 = s.raw();
    c3.send(format!("CONNECT {}\r\n", connect_json(&user_pass("lc", "x"))).as_bytes());
    c3.expect_err_closed("maximum account active connections exceeded");
    // Other accounts are not affected.
    let _m: Vec<Raw> = (0..3).map(|_| login(&s, "m", "x")).collect();
    // A closed connection frees its place (the server notices the close asynchronously: poll).
    drop(c1);
    wait_until("a free account connection slot", || {
        try_login(&s, "lc", "x").is_ok()
    });
}

#[test]
fn account_max_subscriptions_is_per_connection() {
    let s = server();
    for _ in 0..2 {
        let mut c = login(&s, "ls", "x");
        c.send(b"SUB a 1\r\nSUB b 2\r\n");
        c.expect_nothing();
        c.send(b"SUB c 3\r\n");
        c.expect_err("maximum subscriptions exceeded");
        // Still open and the two subscriptions work; an UNSUB frees a place.
        c.send(b"PUB a 1\r\nx\r\nPUB c 1\r\ny\r\n");
        c.expect(b"MSG a 1 1\r\nx\r\n");
        c.expect_nothing();
        c.send(b"UNSUB 2\r\nSUB c 3\r\nPUB c 1\r\ny\r\n");
        c.expect(b"MSG c 3 1\r\ny\r\n");
        c.expect_nothing();
    }
}

#[test]
fn server_max_subscriptions_and_the_lower_of_the_two() {
    let s = server();
    // No account limit: the server's 4. An account limit above the server's: still 4.
    for user in ["m", "hi"] {
        let mut c = login(&s, user, "x");
        c.send(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nSUB d 4\r\n");
        c.expect_nothing();
        c.send(b"SUB e 5\r\n");
        c.expect_err("maximum subscriptions exceeded");
        c.send(b"PUB d 1\r\nx\r\n");
        c.expect(b"MSG d 4 1\r\nx\r\n");
        c.expect_nothing();
    }
}

#[test]
fn server_max_subscriptions_without_accounts() {
    let s = Server::start(ServerOpts::conf("max_subs: 1\n"));
    let mut c = s.ready();
    c.send(b"SUB a 1\r\nSUB b 2\r\n");
    c.expect_err("maximum subscriptions exceeded");
    c.expect_nothing();
}

/// Logs `c` in as a protocol-1 client and returns the INFO the server sends after the PONG.
fn connect_protocol_1(c: &mut Raw, user: &str, pass: &str) -> serde_json::Value {
    let json = connect_json(&format!(r#""protocol":1,{}"#, user_pass(user, pass)));
    c.send(format!("CONNECT {json}\r\nPING\r\n").as_bytes());
    c.expect(b"PONG\r\n");
    c.expect_info()
}

#[test]
fn account_max_payload() {
    let s = server();
    let mut c = s.raw();
    assert_eq!(c.info["max_payload"], 1048576, "{}", c.info);
    // The post-CONNECT INFO carries the account's max_payload.
    let info = connect_protocol_1(&mut c, "lp", "x");
    assert_eq!(info["max_payload"], 100, "{info}");
    c.send(b"SUB big 1\r\n");
    let ok = "x".repeat(100);
    c.send(format!("PUB big 100\r\n{ok}\r\n").as_bytes());
    c.expect(format!("MSG big 1 100\r\n{ok}\r\n").as_bytes());
    c.send(format!("PUB big 101\r\n{ok}x\r\n").as_bytes());
    c.expect_err_closed("Maximum Payload Violation");
    // Another account keeps the server's limit.
    let mut m = login(&s, "m", "x");
    m.send(b"SUB big 1\r\n");
    m.send(format!("PUB big 101\r\n{ok}x\r\n").as_bytes());
    m.expect(format!("MSG big 1 101\r\n{ok}x\r\n").as_bytes());
    m.expect_nothing();
}

#[test]
fn server_max_payload_below_the_account_one_wins() {
    let s = Server::start(ServerOpts::conf(
        "max_payload: 50\naccounts {\n  LP { users: [ {user: lp, password: x} ], limits: {max_payload: 100} }\n}\n",
    ));
    let mut c = s.raw();
    assert_eq!(c.info["max_payload"], 50, "{}", c.info);
    // The post-CONNECT INFO carries the connection's limit: the lower of the server's and the account's.
    let info = connect_protocol_1(&mut c, "lp", "x");
    assert_eq!(info["max_payload"], 50, "{info}");
    assert_eq!(info["remote_account"], "LP", "{info}");
    let ok = "x".repeat(50);
    c.send(format!("SUB big 1\r\nPUB big 50\r\n{ok}\r\n").as_bytes());
    c.expect(format!("MSG big 1 50\r\n{ok}\r\n").as_bytes());
    c.send(format!("PUB big 60\r\n{}\r\n", "y".repeat(60)).as_bytes());
    c.expect_err_closed("Maximum Payload Violation");
}

#[test]
fn account_max_connections_counted_across_shards() {
    // With two shards (corenats `--cores 2`) and sixteen connections, both shards surely hold some: the
    // account's limit is one count for the whole server, not one per shard.
    let s = Server::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::conf(
            "accounts {\n  LC { users: [ {user: lc, password: x} ], limits: {max_connections: 16} }\n  M { users: [ {user: m, password: x} ] }\n}\n",
        )
    });
    let exceeded = "-ERR 'maximum account active connections exceeded'".to_string();
    let mut conns: Vec<Raw> = (0..16).map(|_| login(&s, "lc", "x")).collect();
    for _ in 0..4 {
        assert_eq!(try_login(&s, "lc", "x").err(), Some(exceeded.clone()));
    }
    // Other accounts are not affected.
    let _m: Vec<Raw> = (0..4).map(|_| login(&s, "m", "x")).collect();
    // A closed connection frees exactly one place (the server notices the close asynchronously: poll).
    drop(conns.pop());
    let mut again = None;
    wait_until("a free account connection slot", || {
        again = try_login(&s, "lc", "x").ok();
        again.is_some()
    });
    for _ in 0..4 {
        assert_eq!(try_login(&s, "lc", "x").err(), Some(exceeded.clone()));
    }
    for c in conns.iter_mut() {
        c.expect_nothing();
    }
}
