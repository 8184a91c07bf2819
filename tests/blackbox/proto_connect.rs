//! Raw protocol: the INFO greeting and the CONNECT handshake (defaults, nulls, protocol versions, the
//! post-CONNECT INFO of protocol 1, and CONNECT errors).
use crate::common::*;

#[test]
fn info_is_first_with_space_before_crlf() {
    let s = Server::plain();
    let mut c = Raw::connect_no_info(s.port());
    let line = c.expect_line();
    assert!(line.starts_with("INFO {"), "{line:?}");
    assert!(
        line.ends_with("} "),
        "INFO must end with `}} \\r\\n`: {line:?}"
    );
}

#[test]
fn info_fields() {
    let s = Server::plain();
    let c = s.raw();
    let i = &c.info;
    assert!(i["server_id"].is_string(), "{i}");
    assert!(i["version"].is_string(), "{i}");
    assert_eq!(i["proto"], 1, "{i}");
    assert_eq!(i["headers"], true, "{i}");
    assert_eq!(i["max_payload"], 1048576, "{i}");
    assert!(i["client_id"].is_u64(), "{i}");
    assert_eq!(i["port"], s.port(), "{i}");
    assert_eq!(i["host"], "127.0.0.1", "{i}");
    assert!(
        i.get("auth_required").is_none() || i["auth_required"] == false,
        "{i}"
    );
    assert!(i.get("nonce").is_none(), "no nonce without nkey users: {i}");
}

#[test]
fn client_ids_are_distinct() {
    let s = Server::plain();
    let ids: Vec<u64> = (0..5)
        .map(|_| s.raw().info["client_id"].as_u64().unwrap())
        .collect();
    let mut d = ids.clone();
    d.sort();
    d.dedup();
    assert_eq!(d.len(), ids.len(), "{ids:?}");
}

#[test]
fn info_max_payload_from_config() {
    let s = Server::start(ServerOpts::conf("max_payload: 100\n"));
    assert_eq!(s.raw().info["max_payload"], 100);
}

#[test]
fn empty_connect_defaults_to_verbose() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {}\r\n");
    c.expect(b"+OK\r\n");
    c.send(b"SUB foo 1\r\n");
    c.expect(b"+OK\r\n");
    // PING gets PONG only, no +OK.
    c.ping_pong();
}

#[test]
fn verbose_false_sends_no_ok() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nUNSUB 1\r\n");
    c.expect_nothing();
}

#[test]
fn verbose_ok_precedes_delivery() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":true}\r\n");
    c.expect(b"+OK\r\n");
    c.send(b"SUB foo 1\r\nPUB foo 2\r\nhi\r\n");
    c.expect(b"+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n");
    c.expect_nothing();
}

#[test]
fn no_connect_uses_defaults() {
    // Without auth a client may skip CONNECT; the defaults (verbose) apply.
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"PING\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\n");
    c.expect(b"PONG\r\n+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n");
    c.expect_nothing();
}

#[test]
fn connect_accepts_json_nulls() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(
        br#"CONNECT {"verbose":false,"pedantic":false,"jwt":null,"nkey":null,"sig":null,"name":null,"user":null,"pass":null,"auth_token":null,"lang":"rust","version":"0.0.0","headers":true,"no_responders":true,"echo":true}"#,
    );
    c.send(b"\r\n");
    c.expect_nothing();
}

#[test]
fn connect_ignores_unknown_fields_and_tls_required() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"tls_required\":true,\"whatever\":[1,{\"a\":2}]}\r\n");
    c.expect_nothing();
}

#[test]
fn connect_without_space() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT{\"verbose\":false}\r\n");
    c.expect_nothing();
}

#[test]
fn protocol_zero_no_async_info() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":0}\r\n");
    c.ping_pong();
    c.expect_nothing();
}

#[test]
fn protocol_one_post_connect_info_on_first_ping() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    let info = c.expect_info();
    assert_eq!(info["connect_info"], true, "{info}");
    assert_eq!(info["remote_account"], "$G", "{info}");
    assert_eq!(info["client_id"], c.info["client_id"], "{info}");
    // Only the first PING triggers it.
    c.ping_pong();
    c.expect_nothing();
}

#[test]
fn protocol_two_is_invalid() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":2}\r\n");
    c.expect_err_closed("invalid client protocol");
}

#[test]
fn protocol_negative_is_invalid() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":-1}\r\n");
    c.expect_err_closed("invalid client protocol");
}

#[test]
fn no_responders_requires_headers() {
    let s = Server::plain();
    for connect in [
        r#"{"verbose":false,"no_responders":true}"#,
        r#"{"verbose":false,"no_responders":true,"headers":false}"#,
    ] {
        let mut c = s.raw();
        c.send(format!("CONNECT {connect}\r\n").as_bytes());
        c.expect_err_closed("no responders requires headers support");
    }
}

/// Credentials are judged first: a CONNECT with bad credentials gets `Authorization Violation` even
/// when its protocol fields are invalid too; with good credentials the protocol error stands.
#[test]
fn bad_credentials_outrank_protocol_errors() {
    let s = Server::start(ServerOpts::conf(
        "authorization { users: [ {user: a, password: p} ] }\n",
    ));
    for (fields, protocol_err) in [
        (r#""protocol":2"#, "invalid client protocol"),
        (
            r#""no_responders":true,"headers":false"#,
            "no responders requires headers support",
        ),
    ] {
        let mut c = s.raw();
        let bad = format!(r#"{{"verbose":false,"user":"a","pass":"wrong",{fields}}}"#);
        c.send(format!("CONNECT {bad}\r\n").as_bytes());
        c.expect_err_closed("Authorization Violation");
        let mut c = s.raw();
        let good = format!(r#"{{"verbose":false,"user":"a","pass":"p",{fields}}}"#);
        c.send(format!("CONNECT {good}\r\n").as_bytes());
        c.expect_err_closed(protocol_err);
    }
}

#[test]
fn account_field_is_an_authorization_violation() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"account\":\"A\"}\r\n");
    c.expect_err_closed("Authorization Violation");
}

#[test]
fn bad_connect_json_closes_silently() {
    let s = Server::plain();
    for bad in [
        &b"CONNECT {\r\n"[..],
        b"CONNECT not json\r\n",
        b"CONNECT [1,2]\r\n",
        b"CONNECT {\"verbose\":tru}\r\n",
    ] {
        let mut c = s.raw();
        c.send(bad);
        c.expect_closed();
    }
}

#[test]
fn empty_connect_closes() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT\r\n");
    c.expect_closed_maybe_err("Unknown Protocol Operation");
}

#[test]
fn second_connect_changes_options() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":true}\r\n");
    c.expect(b"+OK\r\n");
    c.send(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\n");
    c.expect_nothing();
}

#[test]
fn ping_before_connect() {
    let s = Server::plain();
    let mut c = s.raw();
    c.ping_pong();
}

/// A second CONNECT is decoded over the first: what it leaves out (here `verbose:false` and the
/// credentials) stays as it was, as with nats-server's JSON decoding into the existing options.
#[test]
fn second_connect_keeps_what_it_omits() {
    let s = Server::start(ServerOpts::conf(
        "authorization { users: [ {user: a, password: p} ] }\n",
    ));
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"p\"}\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    c.send(b"CONNECT {\"echo\":false}\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    // Still quiet, and echo now off: its own message does not come back.
    c.send(b"SUB x 1\r\nPUB x 1\r\n1\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    c.expect_nothing();
}

/// Subscriptions made before any CONNECT on a server without auth stay when the CONNECT comes
/// (nats-server keeps them); a second CONNECT drops the ones made after the first.
#[test]
fn connect_after_ops_keeps_earlier_subscriptions_only_the_first_time() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"SUB x 1\r\nPING\r\n");
    c.expect(b"+OK\r\nPONG\r\n");
    c.send(b"CONNECT {\"verbose\":false}\r\nPUB x 1\r\na\r\nPING\r\n");
    c.expect(b"MSG x 1 1\r\na\r\nPONG\r\n");
    c.send(b"CONNECT {\"verbose\":false}\r\nPUB x 1\r\nb\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    c.expect_nothing();
}
