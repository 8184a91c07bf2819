//! Config reload (SIGHUP) of server limits and of settings that cannot change at run time, seen by
//! live connections, against nats-server's behaviour: a lowered `max_connections` closes the excess
//! with `maximum connections exceeded`, a lowered account `max_subscriptions` closes a connection
//! holding more, a lowered `max_control_line` applies to open connections, a reload that removes
//! every user closes their connections, and a reload that changes a non-reloadable setting is refused
//! as a whole ("config reload not supported for ...").

use crate::common::tenancy::*;
use crate::common::*;
use std::time::Duration;

#[test]
fn lowered_max_connections_closes_the_excess() {
    let conf = |max: u32| format!("max_connections: {max}\n");
    let s = Server::start(ServerOpts::conf(&conf(5)));
    let open: Vec<Raw> = (0..4).map(|_| s.ready()).collect();
    reload(&s, &conf(2));
    let (mut closed, mut open) = wait_closed(open, 2);
    assert_eq!(closed.len(), 2);
    for c in closed.iter_mut() {
        c.expect_err_closed("maximum connections exceeded");
    }
    for c in open.iter_mut() {
        c.ping_pong();
    }
    wait_until("the log line", || {
        s.log()
            .contains("connections to fall within max_connections")
    });
    // At the limit: a new connection is refused.
    let mut extra = s.raw();
    extra.expect_err_closed("maximum connections exceeded");
}

#[test]
fn lowered_account_max_subscriptions_closes_a_connection_over_it() {
    let conf = |max: u32| {
        format!(
            "accounts {{ A {{ users: [ {{user: a, password: x}} ], limits: {{max_subscriptions: {max}}} }} }}\n"
        )
    };
    let s = Server::start(ServerOpts::conf(&conf(10)));
    let mut many = login(&s, "a", "x");
    many.send(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n");
    many.ping_pong();
    let mut few = login(&s, "a", "x");
    few.send(b"SUB a 1\r\n");
    few.ping_pong();
    reload(&s, &conf(2));
    many.expect_err_closed("maximum subscriptions exceeded");
    // The connection within the new limit stays, and the limit applies to it.
    few.send(b"SUB b 2\r\n");
    few.ping_pong();
    few.send(b"SUB c 3\r\n");
    few.expect_err("maximum subscriptions exceeded");
    few.ping_pong();
}

#[test]
fn lowered_max_control_line_applies_to_open_connections() {
    let conf = |max: u32| format!("max_control_line: {max}\n");
    let s = Server::start(ServerOpts::conf(&conf(4096)));
    let mut c = s.ready();
    let long = format!("SUB {} 1\r\n", "x".repeat(100));
    c.send(long.as_bytes());
    c.ping_pong();
    // 64 still lets CONNECT through, not the 100-byte subject.
    reload(&s, &conf(64));
    wait_until("the new limit on new connections", || {
        let mut probe = s.ready();
        probe.send(long.as_bytes());
        probe.closed_within(Duration::from_millis(50))
    });
    c.send(format!("SUB {} 2\r\n", "y".repeat(100)).as_bytes());
    c.expect_err_closed("maximum control line exceeded");
}

#[test]
fn removing_every_user_closes_their_connections() {
    let s = Server::start(ServerOpts::conf(
        "authorization { users: [ {user: a, password: x} ] }\n",
    ));
    let mut a = login(&s, "a", "x");
    reload(&s, "port: -1\n");
    a.expect_closed();
    // Anyone may connect now.
    wait_until("an anonymous login", || {
        try_login_json(&s, &connect_json("")).is_ok()
    });
}

/// Settings that cannot change while the server runs make the whole reload fail: the new user in
/// the same file cannot log in either.
#[test]
fn non_reloadable_settings_refuse_the_whole_reload() {
    let conf = |extra: &str, users: &str| {
        format!("{extra}\nauthorization {{ users: [ {{user: a, password: x}}\n {users} ] }}\n")
    };
    let s = Server::start(ServerOpts::conf(&conf(
        "server_name: one\nno_auth_user: a\nlame_duck_duration: \"2m\"",
        "",
    )));
    let new_user = "{user: b, password: y}";
    for (extra, want) in [
        (
            "server_name: two\nno_auth_user: a\nlame_duck_duration: \"2m\"",
            "config reload not supported for ServerName: old=one, new=two",
        ),
        (
            "server_name: one\nlame_duck_duration: \"2m\"",
            "config reload not supported for NoAuthUser: old=a, new=",
        ),
        (
            "server_name: one\nno_auth_user: a\nlame_duck_duration: \"1m\"",
            "config reload not supported for LameDuckDuration: old=2m0s, new=1m0s",
        ),
    ] {
        let log = reload_broken(&s, &conf(extra, new_user));
        assert!(log.contains(want), "{log}");
        assert!(try_login(&s, "b", "y").is_err());
    }
    // The unchanged settings with the new user: accepted.
    reload(
        &s,
        &conf(
            "server_name: one\nno_auth_user: a\nlame_duck_duration: \"2m\"",
            new_user,
        ),
    );
    wait_until("the new user", || try_login(&s, "b", "y").is_ok());
}
