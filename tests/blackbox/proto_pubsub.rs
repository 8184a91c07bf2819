//! Raw protocol: PUB/SUB/UNSUB/MSG exact frames, wildcards, queue groups, parser leniency (case, tabs,
//! bare `\n`, split writes), sid rules, auto-unsubscribe, echo, pedantic subject checks, reserved replies.
use crate::common::*;

#[test]
fn pub_sub_exact_frames() {
    let s = Server::plain();
    let mut sub = s.ready();
    sub.send(b"SUB foo 1\r\n");
    sub.ping_pong();
    let mut publ = s.ready();
    publ.send(b"PUB foo 5\r\nhello\r\nPUB foo bar 3\r\nabc\r\nPUB foo 0\r\n\r\n");
    publ.ping_pong();
    sub.expect(b"MSG foo 1 5\r\nhello\r\nMSG foo 1 bar 3\r\nabc\r\nMSG foo 1 0\r\n\r\n");
    sub.expect_nothing();
}

#[test]
fn payload_may_contain_crlf_and_binary() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo 9\r\nPUB \r\n\x00\xff\r\r\n");
    c.expect(b"MSG foo 1 9\r\nPUB \r\n\x00\xff\r\r\n");
    c.expect_nothing();
}

#[test]
fn sid_is_an_opaque_token() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo abc.DEF-9\r\nPUB foo 1\r\nx\r\n");
    c.expect(b"MSG foo abc.DEF-9 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn wildcards() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo.* 1\r\nSUB foo.> 2\r\nSUB > 3\r\nSUB *.bar.* 4\r\n");
    c.send(b"PUB foo 1\r\na\r\n");
    c.expect(b"MSG foo 3 1\r\na\r\n");
    c.expect_nothing();
    c.send(b"PUB foo.bar 1\r\nb\r\n");
    let mut got: Vec<String> = (0..3).map(|_| c.read_msg().sid).collect();
    got.sort();
    assert_eq!(got, ["1", "2", "3"]);
    c.expect_nothing();
    c.send(b"PUB foo.bar.baz 1\r\nc\r\n");
    let mut got: Vec<String> = (0..3).map(|_| c.read_msg().sid).collect();
    got.sort();
    assert_eq!(got, ["2", "3", "4"]);
    c.expect_nothing();
}

#[test]
fn subjects_are_case_sensitive() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB Foo 1\r\nPUB foo 1\r\nx\r\nPUB Foo 1\r\ny\r\n");
    c.expect(b"MSG Foo 1 1\r\ny\r\n");
    c.expect_nothing();
}

#[test]
fn wildcard_characters_inside_tokens_are_literal() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo* 1\r\nSUB >foo 2\r\nSUB a.b*c 3\r\n");
    c.send(b"PUB foox 1\r\nx\r\nPUB foo* 1\r\na\r\nPUB >foo 1\r\nb\r\nPUB a.b*c 1\r\nc\r\n");
    c.expect(b"MSG foo* 1 1\r\na\r\nMSG >foo 2 1\r\nb\r\nMSG a.b*c 3 1\r\nc\r\n");
    c.expect_nothing();
}

#[test]
fn utf8_and_dollar_subjects() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send("SUB $SYS.ünï/x 1\r\nPUB $SYS.ünï/x 1\r\nx\r\n".as_bytes());
    c.expect("MSG $SYS.ünï/x 1 1\r\nx\r\n".as_bytes());
    c.expect_nothing();
}

#[test]
fn delivery_across_connections_with_multiple_subscribers() {
    let s = Server::plain();
    let mut subs: Vec<Raw> = (0..3).map(|_| s.ready()).collect();
    for (i, c) in subs.iter_mut().enumerate() {
        c.send(format!("SUB news.* s{i}\r\n").as_bytes());
        c.ping_pong();
    }
    let mut p = s.ready();
    p.send(b"PUB news.x 2\r\nhi\r\n");
    p.ping_pong();
    for (i, c) in subs.iter_mut().enumerate() {
        c.expect(format!("MSG news.x s{i} 2\r\nhi\r\n").as_bytes());
        c.expect_nothing();
    }
}

#[test]
fn queue_group_exactly_one_member() {
    let s = Server::plain();
    let mut members: Vec<Raw> = (0..3).map(|_| s.ready()).collect();
    for c in members.iter_mut() {
        c.send(b"SUB work q1 1\r\n");
        c.ping_pong();
    }
    let mut plain = s.ready();
    plain.send(b"SUB work 9\r\n");
    plain.ping_pong();
    let mut other_group = s.ready();
    other_group.send(b"SUB work q2 7\r\n");
    other_group.ping_pong();
    let mut p = s.ready();
    let n = 60;
    for i in 0..n {
        let body = format!("{i}");
        p.send(format!("PUB work {}\r\n{body}\r\n", body.len()).as_bytes());
    }
    p.ping_pong();
    let mut seen = vec![0u32; n];
    let msgs = collect_from(&mut members, n, TIMEOUT);
    for (_, m) in msgs {
        assert_eq!((m.subject.as_str(), m.sid.as_str()), ("work", "1"));
        let i: usize = String::from_utf8(m.payload).unwrap().parse().unwrap();
        seen[i] += 1;
    }
    for c in members.iter_mut() {
        c.expect_nothing();
    }
    assert!(
        seen.iter().all(|&x| x == 1),
        "each message exactly once in q1: {seen:?}"
    );
    for i in 0..n {
        assert_eq!(plain.read_msg().payload, format!("{i}").as_bytes());
        assert_eq!(other_group.read_msg().payload, format!("{i}").as_bytes());
    }
    plain.expect_nothing();
    other_group.expect_nothing();
}

#[test]
fn queue_names_are_not_validated() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo q.* 1\r\nSUB foo > 2\r\nSUB foo q>x 3\r\n");
    c.expect_nothing();
}

#[test]
fn verbs_are_case_insensitive() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"connect {\"verbose\":false,\"headers\":true}\r\nsUb foo 1\r\npUb foo 2\r\nhi\r\n");
    c.send(b"hpub foo 12 12\r\nNATS/1.0\r\n\r\n\r\nunsub 1\r\npub foo 1\r\nx\r\npiNG\r\n");
    c.expect(b"MSG foo 1 2\r\nhi\r\nHMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\nPONG\r\n");
    c.send(b"pInG\r\n");
    c.expect(b"PONG\r\n");
    c.expect_nothing();
}

#[test]
fn tabs_and_extra_spaces() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB\tfoo  \t 1  \r\nPUB  foo\t 2 \r\nhi\r\nPUB\tfoo\tbar\t1\r\nx\r\nUNSUB   1  \r\nPUB foo 1\r\ny\r\n");
    c.expect(b"MSG foo 1 2\r\nhi\r\nMSG foo 1 bar 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn bare_newline_ends_control_lines() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false}\nSUB foo 1\nPUB foo 2\nhi\r\nPING\n");
    c.expect(b"MSG foo 1 2\r\nhi\r\nPONG\r\n");
    c.expect_nothing();
}

#[test]
fn split_writes_byte_by_byte() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send_bytewise(
        b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\nPUB foo bar 5\r\nhello\r\nHPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPING\r\n",
    );
    c.expect(
        b"MSG foo 1 bar 5\r\nhello\r\nHMSG foo 1 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\nPONG\r\n",
    );
    c.expect_nothing();
}

#[test]
fn many_commands_in_one_write() {
    let s = Server::plain();
    let mut c = s.ready();
    let mut batch = b"SUB foo 1\r\n".to_vec();
    for i in 0..500 {
        batch.extend_from_slice(format!("PUB foo {}\r\n{i}\r\n", format!("{i}").len()).as_bytes());
    }
    c.send(&batch);
    for i in 0..500 {
        assert_eq!(c.read_msg().payload, format!("{i}").as_bytes());
    }
    c.expect_nothing();
}

#[test]
fn duplicate_sid_is_a_noop() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nb\r\nPUB foo 1\r\nf\r\n");
    c.expect(b"MSG foo 1 1\r\nf\r\n");
    c.expect_nothing();
}

#[test]
fn sid_reusable_after_unsub() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nUNSUB 1\r\nSUB bar 1\r\nPUB foo 1\r\nf\r\nPUB bar 1\r\nb\r\n");
    c.expect(b"MSG bar 1 1\r\nb\r\n");
    c.expect_nothing();
}

#[test]
fn unsub_unknown_sid_is_ignored() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"UNSUB 99\r\nUNSUB 99 5\r\n");
    c.expect_nothing();
    let mut v = s.raw();
    v.send(b"CONNECT {\"verbose\":true}\r\nUNSUB 99\r\n");
    v.expect(b"+OK\r\n+OK\r\n");
    v.expect_nothing();
}

#[test]
fn unsub_stops_delivery() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nUNSUB 1\r\nPUB foo 1\r\nb\r\n");
    c.expect(b"MSG foo 1 1\r\na\r\n");
    c.expect_nothing();
}

#[test]
fn unsub_max_auto_unsubscribes() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nUNSUB 1 3\r\n");
    for _ in 0..5 {
        c.send(b"PUB foo 1\r\nx\r\n");
    }
    c.expect(b"MSG foo 1 1\r\nx\r\nMSG foo 1 1\r\nx\r\nMSG foo 1 1\r\nx\r\n");
    c.expect_nothing();
    // The sid is free again.
    c.send(b"SUB foo 1\r\nPUB foo 1\r\ny\r\n");
    c.expect(b"MSG foo 1 1\r\ny\r\n");
    c.expect_nothing();
}

#[test]
fn unsub_max_counts_earlier_deliveries() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 3\r\n");
    c.send(b"PUB foo 1\r\nc\r\nPUB foo 1\r\nd\r\n");
    c.expect(b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nMSG foo 1 1\r\nc\r\n");
    c.expect_nothing();
}

#[test]
fn unsub_max_not_above_delivered_is_immediate() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 2\r\nPUB foo 1\r\nc\r\n");
    c.expect(b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n");
    c.expect_nothing();
}

#[test]
fn unsub_max_zero_negative_or_junk_is_immediate() {
    let s = Server::plain();
    for max in ["0", "-1", "x"] {
        let mut c = s.ready();
        c.send(format!("SUB foo 1\r\nUNSUB 1 {max}\r\nPUB foo 1\r\nc\r\n").as_bytes());
        c.expect_nothing();
    }
}

#[test]
fn queue_sub_unsub_max() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo q 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n");
    c.expect(b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n");
    c.expect_nothing();
}

#[test]
fn echo_false_suppresses_own_messages() {
    let s = Server::plain();
    let mut c = s.ready_with_echo_false();
    c.send(b"SUB foo 1\r\nPUB foo 1\r\nx\r\n");
    c.expect_nothing();
    let mut other = s.ready();
    other.send(b"PUB foo 1\r\ny\r\n");
    other.ping_pong();
    c.expect(b"MSG foo 1 1\r\ny\r\n");
    c.expect_nothing();
}

trait EchoFalse {
    fn ready_with_echo_false(&self) -> Raw;
}

impl EchoFalse for Server {
    fn ready_with_echo_false(&self) -> Raw {
        Raw::ready_with(
            self.port(),
            r#"{"verbose":false,"pedantic":false,"echo":false}"#,
        )
    }
}

#[test]
fn echo_true_by_default() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo 1\r\nx\r\n");
    c.expect(b"MSG foo 1 1\r\nx\r\n");
}

#[test]
fn pedantic_invalid_publish_subject_still_delivered() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false,\"pedantic\":true}\r\nSUB > 1\r\nPUB foo.* 1\r\nx\r\n");
    c.expect_err("Invalid Publish Subject");
    c.expect(b"MSG foo.* 1 1\r\nx\r\n");
    c.send(b"PUB foo..bar 1\r\ny\r\n");
    c.expect_err("Invalid Publish Subject");
    c.expect_nothing();
}

#[test]
fn pedantic_is_the_default() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":false}\r\nPUB foo.> 1\r\nx\r\n");
    c.expect_err("Invalid Publish Subject");
    c.expect_nothing();
}

#[test]
fn non_pedantic_wildcard_publish_is_literal() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo.* 1\r\nSUB foo.bar 2\r\nPUB foo.* 1\r\nx\r\n");
    c.expect(b"MSG foo.* 1 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn reply_subject_not_validated() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB foo 1\r\nPUB foo bar.* 1\r\nx\r\n");
    c.expect(b"MSG foo 1 bar.* 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn invalid_sub_subject_keeps_connection_open() {
    let s = Server::plain();
    let mut c = s.ready();
    for bad in ["foo..bar", "foo.>.bar", ".foo", "foo.", "a.>.>"] {
        c.send(format!("SUB {bad} 1\r\n").as_bytes());
        c.expect_err("Invalid Subject");
    }
    // Nothing was created: the sid is still free.
    c.send(b"SUB ok 1\r\nPUB ok 1\r\nx\r\n");
    c.expect(b"MSG ok 1 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn invalid_subject_verbose_order() {
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":true}\r\nSUB foo..bar 1\r\n");
    c.expect(b"+OK\r\n");
    c.expect_err("Invalid Subject");
    c.expect_nothing();
}

#[test]
fn reserved_reply_prefixes_rejected() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"SUB > 1\r\n");
    // nats-server 2.15.1 reserves `_R_.`, `$JS.ACK.`, and the gateway prefixes `_GR_.` and `$GR.`
    // (not `$GNR.`, which is delivered like any reply).
    for reply in ["_R_.abc.def", "$JS.ACK.x.y", "_GR_.abc", "$GR.x"] {
        c.send(format!("PUB foo {reply} 1\r\nx\r\n").as_bytes());
        c.expect_err(&format!(
            "Permissions Violation for Publish with Reply of \"{reply}\""
        ));
    }
    c.send(b"HPUB foo _R_.x 12 12\r\nNATS/1.0\r\n\r\n\r\n");
    c.expect_err("Permissions Violation for Publish with Reply of \"_R_.x\"");
    // Not delivered, connection open; `_R_` without the dot is an ordinary reply.
    c.send(b"PUB foo _R_ 1\r\nx\r\n");
    c.expect(b"MSG foo 1 _R_ 1\r\nx\r\n");
    c.expect_nothing();
}

#[test]
fn ping_variants() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"PING foo bar\r\nPINGX\r\n");
    c.expect(b"PONG\r\nPONG\r\n");
    c.expect_nothing();
}

#[test]
fn client_ok_info_pong_are_ignored() {
    let s = Server::plain();
    let mut c = s.ready();
    c.send(b"+OK\r\nINFO {}\r\nPONG\r\n");
    c.expect_nothing();
}

#[test]
fn large_payload_roundtrip() {
    let s = Server::plain();
    let mut c = s.ready();
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    c.send(b"SUB big 1\r\n");
    c.send(format!("PUB big {}\r\n", body.len()).as_bytes());
    c.send(&body);
    c.send(b"\r\n");
    let m = c.read_msg();
    assert_eq!(m.payload, body);
    c.expect_nothing();
}

#[test]
fn pedantic_verbose_order() {
    // The -ERR comes first, then the +OK for the PUB, then the delivery.
    let s = Server::plain();
    let mut c = s.raw();
    c.send(b"CONNECT {\"verbose\":true,\"pedantic\":true}\r\nSUB > 1\r\nPUB foo.* 1\r\nx\r\n");
    c.expect(b"+OK\r\n+OK\r\n");
    c.expect_err("Invalid Publish Subject");
    c.expect(b"+OK\r\nMSG foo.* 1 1\r\nx\r\n");
    c.expect_nothing();
}
