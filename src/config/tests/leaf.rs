//! `leafnodes { ... }`: the remotes corenats dials, the accept-side keys it warns about, the remote
//! keys it cannot honour yet (errors), and the URL and account checks.

use std::time::Duration;

use super::*;

#[test]
fn remotes_with_urls_accounts_and_deny_lists() {
    let l = ok(r#"
accounts { A { users = [ { user: a, password: a } ] } }
leafnodes {
  reconnect: "3s"
  remotes = [
    { url: "nats-leaf://u:p@hub:7422", account: A, deny_imports: ["secret.>"], deny_exports: "x" }
    { urls: ["nats://h1", "h2:7000"] }
  ]
}
"#);
    let r = &l.config.leafnodes;
    assert_eq!(r.reconnect, Duration::from_secs(3));
    assert_eq!(r.remotes.len(), 2);
    assert_eq!(r.remotes[0].urls, vec!["nats-leaf://u:p@hub:7422"]);
    assert_eq!(r.remotes[0].account.as_deref(), Some("A"));
    assert_eq!(r.remotes[0].deny_imports, vec!["secret.>"]);
    assert_eq!(r.remotes[0].deny_exports, vec!["x"]);
    assert_eq!(r.remotes[1].urls.len(), 2);
    assert_eq!(r.remotes[1].account, None);
}

#[test]
fn accept_side_keys_are_warnings() {
    let l = ok("leafnodes { port: 7422, authorization { user: a, password: b } }\n");
    let w: Vec<String> = l.warnings.iter().map(|d| d.message.clone()).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("\"port\" (accepting leaf nodes) is not supported"),
        "{w:?}"
    );
}

#[test]
fn remote_keys_not_honoured_yet_and_bad_remotes_are_errors() {
    for (text, want) in [
        (
            r#"leafnodes { remotes = [ { url: "nats://h", hub: true } ] }"#,
            "leafnode remote \"hub\" is not supported by corenats yet",
        ),
        (
            r#"leafnodes { remotes = [ { url: "nats://h", credentials: "x.creds" } ] }"#,
            "error reading credentials file \"x.creds\": No such file or directory (os error 2)",
        ),
        (
            r#"leafnodes { remotes = [ { url: "nats://h", nkey: "SUBOGUS" } ] }"#,
            "invalid nkey seed: Invalid key length: Bad seed length: 7",
        ),
        (
            r#"leafnodes { remotes = [ { account: A } ] }"#,
            "leafnode remote requires at least one url",
        ),
        (
            r#"leafnodes { remotes = [ { url: "http://h" } ] }"#,
            "error parsing remote url \"http://h\": unsupported scheme \"http\"",
        ),
        (
            r#"leafnodes { remotes = [ { url: "nats://h", bogus: 1 } ] }"#,
            "unknown field \"bogus\"",
        ),
    ] {
        let e = err(text);
        let msgs: Vec<String> = e.diagnostics.iter().map(|d| d.message.clone()).collect();
        assert!(msgs.iter().any(|m| m == want), "{text}: {msgs:?}");
    }
    // Checked with the rules that join settings (after the command line).
    let l = ok(r#"leafnodes { remotes = [ { url: "nats://h", account: NOPE } ] }"#);
    let v = l.config.validate();
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].message,
        "leafnode remote account \"NOPE\" is not defined"
    );
}

#[test]
fn a_remotes_tls_block_is_read_and_its_files_checked_with_the_servers() {
    let l = ok(
        r#"leafnodes { remotes = [ { url: "nats://h", tls: { ca_file: "/nonexistent/ca.pem", handshake_first: true, timeout: 3 } } ] }"#,
    );
    let t = l.config.leafnodes.remotes[0].tls.as_ref().unwrap();
    assert_eq!(t.timeout, Some(std::time::Duration::from_secs(3)));
    let d = crate::tls::compile::for_config(&l.config).unwrap_err();
    assert!(d.message.contains("/nonexistent/ca.pem"), "{}", d.message);
}
