//! TLS on the leaf-node port (the server under test as the hub, real nats-server leaf nodes): INFO
//! in clear text then TLS (nats-server's default), TLS first (`handshake_first` on both sides), a
//! hub that verifies client certificates, and a leaf that does not speak TLS to a hub that
//! requires it. Passes against nats-server as the hub too (`CORENATS_TEST_SERVER=nats-server`).

use crate::common::pki::{Pki, Subject};
use crate::common::raw::until_delivered;
use crate::common::server::TIMEOUT;
use crate::common::spoke::{LeafHub, Spoke};

/// The hub's `leafnodes` block with `tls { <extra> }` from `pki`.
fn hub(pki: &Pki, extra: &str) -> LeafHub {
    LeafHub::start(&format!(
        "leafnodes {{\n  port: -1\n  {}\n}}\n",
        pki.tls_block(extra)
    ))
}

/// A remote to the hub over TLS, trusting `pki`'s CA; `extra` goes into its `tls {}`.
fn tls_remote(pki: &Pki, hub: &LeafHub, extra: &str) -> String {
    format!(
        "{{ url: \"tls://127.0.0.1:{}\", tls: {{ ca_file: {:?} {extra} }} }}",
        hub.leaf_port, pki.ca.pem_file
    )
}

/// Messages cross an attached TLS link both ways.
fn both_ways(hub: &LeafHub, spoke: &Spoke) {
    let mut h = hub.ready();
    h.send(b"SUB to.hub 1\r\n");
    h.ping_pong();
    let mut s = spoke.ready();
    s.send(b"SUB to.leaf 1\r\n");
    s.ping_pong();
    until_delivered(&mut s, &mut h, "to.hub");
    until_delivered(&mut h, &mut s, "to.leaf");
}

#[test]
fn a_leaf_upgrades_after_the_hubs_info() {
    let pki = Pki::new();
    let hub = hub(&pki, "");
    let info = hub.raw_leaf().info.clone();
    assert_eq!(info["tls_required"], true, "{info}");
    let spoke = Spoke::attach("TLS-LEAF", &[tls_remote(&pki, &hub, "")], "");
    both_ways(&hub, &spoke);
}

#[test]
fn tls_first_when_both_sides_ask_for_it() {
    let pki = Pki::new();
    let hub = hub(&pki, "handshake_first: true");
    let spoke = Spoke::attach(
        "TLS-FIRST",
        &[tls_remote(&pki, &hub, ", handshake_first: true")],
        "",
    );
    both_ways(&hub, &spoke);
}

#[test]
fn a_verifying_hub_wants_the_leafs_certificate() {
    let pki = Pki::new();
    let hub = hub(&pki, "verify: true");
    // Without a client certificate the handshake fails (TLS 1.3: the leaf learns it on its first
    // read): the link never stays up.
    let refused = Spoke::unlinked("NO-CERT", &[tls_remote(&pki, &hub, "")], "");
    assert!(
        refused
            .server
            .wait_for_log("Leafnode connection closed", TIMEOUT),
        "the leaf's link never failed:\n{}",
        refused.server.log()
    );
    assert_eq!(hub.leafz()["leafnodes"], 0);
    drop(refused);
    // With one signed by the hub's CA it attaches.
    let cert = pki.ca.client(&pki.dir, "leaf", &Subject::cn("leaf"));
    let extra = format!(
        ", cert_file: {:?}, key_file: {:?}",
        cert.cert_file, cert.key_file
    );
    let spoke = Spoke::attach("WITH-CERT", &[tls_remote(&pki, &hub, &extra)], "");
    both_ways(&hub, &spoke);
}

#[test]
fn a_clear_text_leaf_does_not_attach_to_a_tls_hub() {
    let pki = Pki::new();
    let hub = hub(&pki, "");
    let plain = Spoke::unlinked("PLAIN", &[format!("{{ url: {:?} }}", hub.leaf_url(""))], "");
    // nats-server's leaf sees `tls_required` in the hub's INFO and tries TLS with the system's
    // roots, which do not know the test CA: never a link.
    assert!(
        plain.server.wait_for_log("TLS", TIMEOUT),
        "the leaf never logged a TLS failure:\n{}",
        plain.server.log()
    );
    assert_eq!(plain.leafz()["leafnodes"], 0);
    assert_eq!(hub.leafz()["leafnodes"], 0);
}
