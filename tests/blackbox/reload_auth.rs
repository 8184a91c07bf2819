//! Config reload (SIGHUP) of users, permissions and limits, seen by live connections: tightened subscribe
//! permissions remove subscriptions with `(sid "n")` errors, loosened publish permissions apply to the next
//! PUB, a removed user is closed silently, a changed password closes with an Authorization Violation, a new
//! user can log in, and a broken file changes nothing. Accounts: a user moved to
//! another account and the users of a removed account are closed silently (the moved user logs in to its
//! new account), a changed token closes with an Authorization Violation, and a lowered account
//! `max_connections` closes the connections over it with `maximum account active connections exceeded`.
//!
//! Reloads are observed through the log line both servers print, then (corenats applies a reload on each
//! shard just after logging it) by polling the effect with round trips, never with fixed sleeps.

use crate::common::tenancy::*;
use crate::common::*;

fn conf(a_perms: &str, extra_users: &str) -> String {
    format!(
        r#"
accounts {{
  A {{
    users: [
      {{user: a, password: pa, permissions: {a_perms}}}
      {{user: spy, password: ps}}
      {extra_users}
    ]
  }}
  B {{ users: [ {{user: b, password: pb}} ] }}
}}
"#
    )
}

const A_WIDE: &str = r#"{publish: "a.>", subscribe: ">"}"#;
const A_NARROW: &str = r#"{publish: "a.>", subscribe: "a.>"}"#;
const A_PUB_WIDE: &str = r#"{publish: ">", subscribe: ">"}"#;

fn start(a_perms: &str, extra: &str) -> Server {
    Server::start(ServerOpts::conf(&conf(a_perms, extra)))
}

/// A spy in A subscribed to everything (sid 1).
fn spy(s: &Server) -> Raw {
    let mut spy = login(s, "spy", "ps");
    spy.send(b"SUB > 1\r\n");
    spy.ping_pong();
    spy
}

#[test]
fn tightened_subscribe_permissions_remove_subscriptions() {
    let s = start(A_WIDE, "");
    let mut a = login(&s, "a", "pa");
    a.send(b"SUB a.x 1\r\nSUB other.y 2\r\nSUB other.z q 3\r\nSUB a.> q 4\r\n");
    a.ping_pong();
    reload(&s, &conf(A_NARROW, ""));
    // Both removals are reported (in either order), and the connection stays open.
    let mut errs = vec![a.expect_line(), a.expect_line()];
    errs.sort();
    assert_eq!(
        errs,
        [
            "-ERR 'Permissions Violation for Subscription to \"other.y\" (sid \"2\")'",
            "-ERR 'Permissions Violation for Subscription to \"other.z\" using queue \"q\" (sid \"3\")'",
        ]
    );
    a.expect_nothing();
    // Both servers log each removal (polled: the log is read from the process's pipe by another thread).
    for line in [
        r#"[INF] Removed sub "other.y" (sid "2") for User "a" - not authorized"#,
        r#"[INF] Removed sub "other.z" using queue "q" (sid "3") for User "a" - not authorized"#,
    ] {
        wait_until(line, || log_count(&s, line) == 1);
    }
    let mut p = login(&s, "spy", "ps");
    p.send(b"PUB other.y 1\r\n1\r\nPUB other.z 1\r\n2\r\nPUB a.x 1\r\n3\r\n");
    p.ping_pong();
    let mut sids: Vec<String> = (0..2)
        .map(|_| {
            let m = a.read_msg();
            assert_eq!(m.subject, "a.x");
            m.sid
        })
        .collect();
    sids.sort();
    assert_eq!(sids, ["1", "4"]);
    a.expect_nothing();
    // New subscriptions follow the new rules.
    a.send(b"SUB other.w 5\r\n");
    a.expect_err(&sub_violation("other.w", None));
    a.expect_nothing();
}

#[test]
fn loosened_publish_permissions_apply_to_the_next_pub() {
    let s = start(A_WIDE, "");
    let mut spy = spy(&s);
    let mut a = login(&s, "a", "pa");
    a.send(b"PUB b.x 1\r\nz\r\n");
    a.expect_err(&pub_violation("b.x"));
    a.expect_nothing();
    reload(&s, &conf(A_PUB_WIDE, ""));
    // Retry until the shard has applied the reload; every refused attempt is an -ERR, never a delivery.
    wait_until("the loosened publish permission", || {
        a.send(b"PUB b.x 1\r\nz\r\nPING\r\n");
        match a.expect_line().as_str() {
            "PONG" => true,
            l => {
                assert_eq!(l, format!("-ERR '{}'", pub_violation("b.x")));
                a.expect(b"PONG\r\n");
                false
            }
        }
    });
    spy.expect(b"MSG b.x 1 1\r\nz\r\n");
    spy.expect_nothing();
}

#[test]
fn removed_user_is_closed_silently() {
    let s = start(A_WIDE, "{user: gone, password: pg}");
    let mut gone = login(&s, "gone", "pg");
    gone.send(b"SUB x 1\r\n");
    gone.ping_pong();
    let mut a = login(&s, "a", "pa");
    reload(&s, &conf(A_WIDE, ""));
    gone.expect_closed();
    // (Another shard may apply the reload a moment later: poll.)
    wait_until("the removed user's login to fail", || {
        try_login(&s, "gone", "pg").is_err()
    });
    // Everyone else is untouched.
    a.expect_nothing();
    login(&s, "spy", "ps").expect_nothing();
}

#[test]
fn changed_password_closes_with_authorization_violation() {
    let s = start(A_WIDE, "{user: pw, password: old}");
    let mut pw = login(&s, "pw", "old");
    let mut b = login(&s, "b", "pb");
    reload(&s, &conf(A_WIDE, "{user: pw, password: new}"));
    pw.expect_err_closed("Authorization Violation");
    wait_until("the old password to fail", || {
        try_login(&s, "pw", "old").is_err()
    });
    wait_until("the new password to work", || {
        try_login(&s, "pw", "new").is_ok()
    });
    b.expect_nothing();
}

#[test]
fn added_user_can_log_in() {
    let s = start(A_WIDE, "");
    assert!(try_login(&s, "fresh", "pf").is_err());
    let mut spy = spy(&s);
    reload(&s, &conf(A_WIDE, "{user: fresh, password: pf}"));
    let mut fresh = None;
    wait_until("the new user's login", || {
        fresh = try_login(&s, "fresh", "pf").ok();
        fresh.is_some()
    });
    // In the right account.
    let mut fresh = fresh.unwrap();
    fresh.send(b"PUB hello 1\r\nf\r\n");
    fresh.ping_pong();
    spy.expect(b"MSG hello 1 1\r\nf\r\n");
}

#[test]
fn broken_config_changes_nothing() {
    let s = start(A_WIDE, "{user: keep, password: pk}");
    let mut keep = login(&s, "keep", "pk");
    keep.send(b"SUB k 1\r\n");
    keep.ping_pong();
    // Valid syntax, but one bad permission subject: the whole reload is refused (all or nothing).
    let broken = conf(
        A_NARROW,
        r#"{user: other, password: po, permissions: {publish: "foo..bar"}}"#,
    );
    let why = reload_broken(&s, &broken);
    assert!(
        why.contains("subject \"foo..bar\" is not a valid subject"),
        "{why}"
    );
    // The old users and permissions are all still in force.
    keep.send(b"PUB k 1\r\nk\r\n");
    keep.expect(b"MSG k 1 1\r\nk\r\n");
    keep.expect_nothing();
    assert!(try_login(&s, "other", "po").is_err());
    let mut a = login(&s, "a", "pa");
    a.send(b"SUB other.y 1\r\n");
    a.expect_nothing();
    // A later good reload still works.
    reload(&s, &conf(A_WIDE, ""));
    keep.expect_closed();
}

#[test]
fn unparsable_config_changes_nothing() {
    let s = start(A_WIDE, "");
    let mut a = login(&s, "a", "pa");
    let why = reload_broken(&s, "accounts {\n  A { users: [ {user: a, password: pa} \n");
    assert!(
        why.lines().next().unwrap_or("").len() > RELOAD_FAILED.len(),
        "{why}"
    );
    a.send(b"SUB any.thing 1\r\n");
    a.expect_nothing();
    login(&s, "b", "pb").expect_nothing();
}

/// Publishes `x.secret` then `x.ok` as `p` and reads what `a`'s `SUB x.* 1` got: true when `x.secret` was
/// filtered out (only `x.ok` arrived).
fn secret_filtered(p: &mut Raw, a: &mut Raw) -> bool {
    p.send(b"PUB x.secret 1\r\ns\r\nPUB x.ok 1\r\no\r\n");
    p.ping_pong();
    let first = a.read_msg();
    if first.subject == "x.ok" {
        return true;
    }
    assert_eq!(first.subject, "x.secret");
    assert_eq!(a.read_msg().subject, "x.ok");
    false
}

#[test]
fn subscribe_deny_added_and_removed_by_reload_filters_existing_wildcard_subscription() {
    const A_DENY_SECRET: &str = r#"{publish: ">", subscribe: {allow: ">", deny: "x.secret"}}"#;
    let s = start(A_PUB_WIDE, "");
    let mut a = login(&s, "a", "pa");
    a.send(b"SUB x.* 1\r\n");
    a.ping_pong();
    let mut p = login(&s, "spy", "ps");
    // Delivered (and the match for x.secret is now cached by the server).
    assert!(!secret_filtered(&mut p, &mut a));
    reload(&s, &conf(A_DENY_SECRET, ""));
    // The wildcard subscription overlaps the new deny entry: it stays (no -ERR) and is filtered.
    wait_until("x.secret to be filtered", || {
        secret_filtered(&mut p, &mut a)
    });
    assert!(secret_filtered(&mut p, &mut a));
    a.expect_nothing();
    // Loosened again: the same subscription receives x.secret.
    reload(&s, &conf(A_PUB_WIDE, ""));
    wait_until("x.secret to be delivered", || {
        !secret_filtered(&mut p, &mut a)
    });
    a.expect_nothing();
}

#[test]
fn login_being_checked_when_a_reload_lands_is_checked_again() {
    // bcrypt of "old" at cost 12: slow enough (hundreds of ms) that the reload below lands while the
    // CONNECT is still being checked.
    const OLD: &str = "$2b$12$SsSGIClFi8LZmqewW0YdsObUnncy8f9Mgx/SqRR0.03ogVS3UAny2";
    let s = start(A_WIDE, &format!(r#"{{user: pw, password: "{OLD}"}}"#));
    let mut pw = s.raw();
    pw.send(
        format!(
            "CONNECT {}\r\nPING\r\n",
            connect_json(&user_pass("pw", "old"))
        )
        .as_bytes(),
    );
    reload(&s, &conf(A_WIDE, "{user: pw, password: new}"));
    // Checked before the reload: logged in (PONG), then closed by the reload. Checked across it: refused
    // (corenats checks again and answers the -ERR; nats-server closes it silently). Either way the old
    // password does not outlive the reload.
    let lines = pw.lines_until_closed();
    let refused = ["-ERR 'Authorization Violation'".to_string()];
    assert!(
        lines.is_empty() || lines == refused || lines[1..] == refused && lines[0] == "PONG",
        "{lines:?}"
    );
}

#[test]
fn lowered_max_payload_applies_to_open_connections() {
    let s = Server::start(ServerOpts::conf("max_payload: 100\n"));
    let mut c = s.ready();
    let pub_50 = format!("PUB a 50\r\n{}\r\nPING\r\n", "x".repeat(50));
    c.send(pub_50.as_bytes());
    c.expect(b"PONG\r\n");
    reload(&s, "max_payload: 10\n");
    // The same connection's next 50-byte PUB is over the new limit (polled: shards apply it in turn).
    wait_until("the lowered max_payload", || {
        c.send(pub_50.as_bytes());
        match c.expect_line().as_str() {
            "PONG" => false,
            l => {
                assert_eq!(l, "-ERR 'Maximum Payload Violation'");
                true
            }
        }
    });
    c.expect_closed();
    assert_eq!(s.ready().info["max_payload"], 10);
}

/// Accounts A (user `a`, and `spy`), B (user `b`) with extra users appended to each list, and any further
/// accounts given as config text.
fn accounts_conf(a_extra: &str, b_extra: &str, more_accounts: &str) -> String {
    format!(
        r#"
accounts {{
  A {{ users: [
    {{user: a, password: pa}}, {{user: spy, password: ps}}
    {a_extra}
  ] }}
  B {{ users: [
    {{user: b, password: pb}}
    {b_extra}
  ] }}
  {more_accounts}
}}
"#
    )
}

/// Logs in as a protocol-1 client and returns the connection and the account named by the INFO the
/// server sends after the CONNECT's PONG.
fn login_account(s: &Server, user: &str, pass: &str) -> (Raw, String) {
    let mut c = s.raw();
    let json = connect_json(&format!(r#""protocol":1,{}"#, user_pass(user, pass)));
    c.send(format!("CONNECT {json}\r\nPING\r\n").as_bytes());
    c.expect(b"PONG\r\n");
    let info = c.expect_info();
    let acc = info["remote_account"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (c, acc)
}

#[test]
fn user_moved_to_another_account_is_closed_and_logs_in_to_the_new_one() {
    let mv_user = "{user: mv, password: pm}";
    let s = Server::start(ServerOpts::conf(&accounts_conf(mv_user, "", "")));
    let (mut mv, acc) = login_account(&s, "mv", "pm");
    assert_eq!(acc, "A");
    mv.send(b"SUB m.> 1\r\n");
    mv.ping_pong();
    let mut spy = spy(&s);
    let mut a = login(&s, "a", "pa");
    let mut b = login(&s, "b", "pb");
    let mut bsub = login(&s, "b", "pb");
    bsub.send(b"SUB m.> 1\r\n");
    bsub.ping_pong();
    // Before: mv lives in A (A's publisher reaches it, its publishes reach A's spy, not B).
    a.send(b"PUB m.a 1\r\n1\r\n");
    a.ping_pong();
    mv.expect(b"MSG m.a 1 1\r\n1\r\n");
    spy.expect(b"MSG m.a 1 1\r\n1\r\n");
    mv.send(b"PUB m.mv 1\r\n2\r\n");
    mv.expect(b"MSG m.mv 1 1\r\n2\r\n");
    mv.ping_pong();
    spy.expect(b"MSG m.mv 1 1\r\n2\r\n");
    bsub.expect_nothing();

    reload(&s, &accounts_conf("", mv_user, ""));

    // A new login of mv lands in B (polled: another shard may apply the reload a moment later).
    let mut moved = None;
    wait_until("mv's login to land in account B", || {
        let (c, acc) = login_account(&s, "mv", "pm");
        assert!(acc == "A" || acc == "B", "{acc}");
        moved = (acc == "B").then_some(c);
        moved.is_some()
    });
    let mut moved = moved.unwrap();
    moved.send(b"SUB m.> 1\r\n");
    moved.ping_pong();
    // A B publisher reaches its fresh subscription; an A publisher does not.
    a.send(b"PUB m.a 1\r\n3\r\n");
    a.ping_pong();
    spy.expect(b"MSG m.a 1 1\r\n3\r\n");
    b.send(b"PUB m.b 1\r\n4\r\n");
    b.ping_pong();
    moved.expect(b"MSG m.b 1 1\r\n4\r\n");
    bsub.expect(b"MSG m.b 1 1\r\n4\r\n");
    // Its publishes reach B's member, not A's spy.
    moved.send(b"PUB m.mv 1\r\n5\r\n");
    moved.expect(b"MSG m.mv 1 1\r\n5\r\n");
    bsub.expect(b"MSG m.mv 1 1\r\n5\r\n");
    moved.expect_nothing();
    bsub.expect_nothing();
    spy.expect_nothing();
    // The connection made in A was closed by the reload, silently (nats-server closes every client whose
    // user now belongs to another account, with no -ERR, so that it reconnects and subscribes again in the
    // new account; its subscriptions in A went with it). Checked last so that everything above is
    // checked even where this fails.
    mv.expect_closed();
    a.expect_nothing();
    b.expect_nothing();
}

#[test]
fn removed_account_closes_its_users_silently() {
    let c_acc = "C { users: [ {user: c, password: pc}, {user: c2, password: pc2} ] }";
    let s = Server::start(ServerOpts::conf(&accounts_conf("", "", c_acc)));
    let mut c = login(&s, "c", "pc");
    c.send(b"SUB x 1\r\n");
    c.ping_pong();
    let mut c2 = login(&s, "c2", "pc2");
    let mut spy = spy(&s);
    let mut a = login(&s, "a", "pa");
    let mut b = login(&s, "b", "pb");
    b.send(b"SUB x 1\r\n");
    b.ping_pong();
    reload(&s, &accounts_conf("", "", ""));
    // Both of C's users are closed without an -ERR (their users no longer exist).
    c.expect_closed();
    c2.expect_closed();
    // (Another shard may apply the reload a moment later: poll.) Then their logins are refused.
    wait_until("C's user login to fail", || {
        match try_login(&s, "c", "pc") {
            Ok(_) => false,
            Err(line) => {
                assert_eq!(line, "-ERR 'Authorization Violation'");
                true
            }
        }
    });
    wait_until("C's second user login to fail", || {
        try_login(&s, "c2", "pc2").is_err()
    });
    // A and B are untouched: their connections and subscriptions still work.
    a.send(b"PUB x 1\r\n1\r\n");
    a.ping_pong();
    spy.expect(b"MSG x 1 1\r\n1\r\n");
    b.send(b"PUB x 1\r\n2\r\n");
    b.expect(b"MSG x 1 1\r\n2\r\n");
    b.expect_nothing();
    spy.expect_nothing();
    a.expect_nothing();
    login(&s, "b", "pb").expect_nothing();
}

#[test]
fn changed_token_closes_with_authorization_violation() {
    let conf = |token: &str, max_payload: u32| {
        format!("authorization {{ token: {token} }}\nmax_payload: {max_payload}\n")
    };
    let token = |t: &str| connect_json(&format!(r#""auth_token":"{t}""#));
    // One shard, so that a fresh connection seeing the reloaded max_payload proves the reload reached
    // the old connection's shard too.
    let s = Server::start(ServerOpts {
        cores: Some(1),
        ..ServerOpts::conf(&conf("old", 1000))
    });
    let mut t = Raw::ready_with(s.port(), &token("old"));
    t.send(b"SUB x 1\r\n");
    t.ping_pong();
    // A reload that keeps the token keeps the connection.
    reload(&s, &conf("old", 2000));
    wait_until("the reloaded max_payload", || {
        s.raw().info["max_payload"] == 2000
    });
    t.send(b"PUB x 1\r\n1\r\n");
    t.expect(b"MSG x 1 1\r\n1\r\n");
    t.expect_nothing();
    // A changed token closes it with an Authorization Violation.
    reload(&s, &conf("new", 2000));
    t.expect_err_closed("Authorization Violation");
    wait_until("the new token to work", || {
        try_login_json(&s, &token("new")).is_ok()
    });
    assert_login_refused(&s, &token("old"));
}

#[test]
fn lowered_account_max_connections_closes_the_excess() {
    let conf = |max: u32| {
        format!(
            "accounts {{\n  L {{ users: [ {{user: l, password: x}} ], limits: {{max_connections: {max}}} }}\n  M {{ users: [ {{user: m, password: x}} ] }}\n}}\n"
        )
    };
    const EXCEEDED: &str = "maximum account active connections exceeded";
    let s = Server::start(ServerOpts::conf(&conf(4)));
    let open: Vec<Raw> = (0..4).map(|_| login(&s, "l", "x")).collect();
    let mut m = login(&s, "m", "x");
    assert_eq!(
        try_login(&s, "l", "x").err().as_deref(),
        Some(&*format!("-ERR '{EXCEEDED}'"))
    );
    reload(&s, &conf(2));
    // nats-server re-registers every client with its account: the ones over the new limit (any two of
    // the four) get the -ERR and are closed, the others stay.
    let (mut closed, mut open) = wait_closed(open, 2);
    assert_eq!(closed.len(), 2);
    for c in closed.iter_mut() {
        c.expect_err_closed(EXCEEDED);
    }
    for c in open.iter_mut() {
        c.expect_nothing();
    }
    // At the limit: new connections are refused; one closed frees a place.
    assert_eq!(
        try_login(&s, "l", "x").err().as_deref(),
        Some(&*format!("-ERR '{EXCEEDED}'"))
    );
    drop(open.pop());
    let mut again = None;
    wait_until("a free account connection slot", || {
        again = try_login(&s, "l", "x").ok();
        again.is_some()
    });
    assert!(try_login(&s, "l", "x").is_err());
    // Another account is untouched.
    m.expect_nothing();
    let _more: Vec<Raw> = (0..3).map(|_| login(&s, "m", "x")).collect();
}

#[test]
fn lowered_account_limit_counts_users_moving_out_in_the_same_reload() {
    // A holds five connections: three of `stay`, two of `mover`. One reload lowers A's limit to 3 and
    // moves `mover` to B: the movers go (silently), which brings A down to its new limit, so none of
    // the three that stay may be closed, whichever shard applies the reload first.
    let conf = |max: u32, a_mover: &str, b_mover: &str| {
        format!(
            "accounts {{\n  A {{ users: [\n {{user: stay, password: x}}\n {a_mover}\n ], limits: {{max_connections: {max}}} }}\n  B {{ users: [\n {{user: b, password: x}}\n {b_mover}\n ] }}\n}}\n"
        )
    };
    let mover = "{user: mover, password: x}";
    let s = Server::start(ServerOpts {
        cores: Some(2),
        ..ServerOpts::conf(&conf(5, mover, ""))
    });
    let mut stay: Vec<Raw> = (0..3).map(|_| login(&s, "stay", "x")).collect();
    let mut movers: Vec<Raw> = (0..2).map(|_| login(&s, "mover", "x")).collect();
    reload(&s, &conf(3, "", mover));
    for m in movers.iter_mut() {
        m.expect_closed();
    }
    // Every shard has applied the reload once a new mover login lands in B.
    wait_until("the reload on every shard", || {
        let (_, acc) = login_account(&s, "mover", "x");
        acc == "B"
    });
    for c in stay.iter_mut() {
        c.ping_pong();
        c.expect_nothing();
    }
    // A is at its limit now.
    assert_eq!(
        try_login(&s, "stay", "x").err().as_deref(),
        Some("-ERR 'maximum account active connections exceeded'")
    );
}

/// Connections that PING in a loop on their own thread until `stop`, returning the longest wait for a
/// PONG: how long the shards they live on were held up.
fn pingers(
    conns: Vec<Raw>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<std::time::Duration> {
    std::thread::spawn(move || {
        let mut conns = conns;
        let mut worst = std::time::Duration::ZERO;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for c in conns.iter_mut() {
                let t = std::time::Instant::now();
                c.ping_pong();
                worst = worst.max(t.elapsed());
            }
        }
        worst
    })
}

#[test]
fn reload_runs_no_bcrypt_on_the_shards() {
    // Thirty bcrypt logins (cost 11, about 120 ms of CPU each) are re-checked by a reload. Unchanged
    // secrets need no check at all (a token once was checked again every time), and changed ones are
    // checked off the shards: other clients' round trips are never held up for long.
    let token = bcrypt::hash("tok3n", 11).unwrap();
    let tok_conf = format!("authorization {{ token: \"{token}\" }}\n");
    let s = Server::start(ServerOpts::conf(&tok_conf));
    let tok = "{\"verbose\":false,\"auth_token\":\"tok3n\"}";
    let clients: Vec<Raw> = (0..30).map(|_| try_login_json(&s, tok).unwrap()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ping = pingers(
        (0..4).map(|_| try_login_json(&s, tok).unwrap()).collect(),
        stop.clone(),
    );
    reload(&s, &format!("{tok_conf}# touched\n"));
    for mut c in clients {
        c.ping_pong();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = ping.join().unwrap();
    assert!(
        worst < std::time::Duration::from_secs(1),
        "held up {worst:?}"
    );

    // Users whose bcrypt hash changed (same password, new salt) are checked again, off the shard:
    // they stay, and a plain user's round trips go on meanwhile.
    let users = |hash: &str| {
        format!(
            "accounts {{ A {{ users: [ {{user: bob, password: \"{hash}\"}}, {{user: p, password: pp}} ] }} }}\n"
        )
    };
    let s = Server::start(ServerOpts::conf(&users(
        &bcrypt::hash("bobpw", 11).unwrap(),
    )));
    let clients: Vec<Raw> = (0..30).map(|_| login(&s, "bob", "bobpw")).collect();
    stop.store(false, std::sync::atomic::Ordering::Relaxed);
    let ping = pingers((0..4).map(|_| login(&s, "p", "pp")).collect(), stop.clone());
    reload(&s, &users(&bcrypt::hash("bobpw", 11).unwrap()));
    let mut clients = clients;
    for c in clients.iter_mut() {
        c.ping_pong();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = ping.join().unwrap();
    assert!(
        worst < std::time::Duration::from_secs(1),
        "held up {worst:?}"
    );
    // A changed password closes them, once their checks ran.
    reload(&s, &users(&bcrypt::hash("newpw", 11).unwrap()));
    for c in clients.iter_mut() {
        c.expect_err_closed("Authorization Violation");
    }
}
