//! Tests for `identity.rs`: certificates made at test time (rcgen for keys, signatures and simple
//! subjects; a small DER writer below for what rcgen cannot express: repeated attribute types such as
//! two DCs, multi-valued RDNs, chosen string types, empty subjects), and the expected user names
//! taken from nats-server's own tests (test/tls_test.go, test/configs/tls_cert_*.conf).
//!
//! End-to-end check (2026-12, nats-server v2.15.1, built with Go 1.26/1.27): 78 certificates made by
//! the writer below and signed by an rcgen CA were presented to a real nats-server with
//! `tls { verify_and_map: true }` and users named as in these tests, from nats-py and from a rustls
//! client. For every one, the user nats-server logged in (`/connz?auth=true` `authorized_user`, or
//! the authorization error), `tls_peer_certs[0]` (`subject`, `spki_sha256`, `cert_sha256`) and the
//! strings of its `-D` log ("User in cert [..], not found", "RDNSequence could not be used for auth
//! [..]") equalled `map_user`, `connz()`, `subject_rdns` and `subject_rdns_with_dcs` here, and the
//! certificates it refused in the handshake were the ones `from_der` refuses; the cases are the ones
//! below (the rdns/tlsauth/sans/svid examples, escaping, string types, non-string values, DN
//! quirks, order of attempts). Three did not match, all SAN URIs that Go's URL parser rewrites
//! (`https://u%41@h/p`, `x:/p#a b`, `spiffe://`; see `go_url_string`).

use super::ldap_dn::go_equal_fold;
use super::*;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData, SanType, SigningKey,
};

// ---------------------------------------------------------------------------------------------
// A minimal DER writer for test certificates.

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(body);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut body = Vec::new();
    let mut push = |mut v: u64| {
        let mut bytes = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            bytes.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        bytes.reverse();
        body.extend(bytes);
    };
    push(arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push(a);
    }
    tlv(0x06, &body)
}

/// Universal string tags.
const UTF8: u8 = 0x0c;
const PRINTABLE: u8 = 0x13;
const T61: u8 = 0x14;
const IA5: u8 = 0x16;
const BMP: u8 = 0x1e;
const NUMERIC: u8 = 0x12;
const UNIVERSAL: u8 = 0x1c;

const CN: &str = "2.5.4.3";
const C: &str = "2.5.4.6";
const L: &str = "2.5.4.7";
const ST: &str = "2.5.4.8";
const O: &str = "2.5.4.10";
const OU: &str = "2.5.4.11";
const DC: &str = "0.9.2342.19200300.100.1.25";
const EMAIL: &str = "1.2.840.113549.1.9.1";

/// One attribute: type, value tag, value bytes; tag [`RAW`]: the bytes are the whole element.
type A<'a> = (&'a str, u8, &'a [u8]);

const RAW: u8 = 0;

/// A Name: RDNs in ASN.1 order, each a SET of attributes (sorted as DER requires).
fn name(rdns: &[&[A<'_>]]) -> Vec<u8> {
    let sets: Vec<Vec<u8>> = rdns
        .iter()
        .map(|rdn| {
            let mut atvs: Vec<Vec<u8>> = rdn
                .iter()
                .map(|(t, tag, v)| match *tag {
                    RAW => seq(&[oid(t), v.to_vec()]),
                    tag => seq(&[oid(t), tlv(tag, v)]),
                })
                .collect();
            atvs.sort();
            tlv(0x31, &atvs.concat())
        })
        .collect();
    seq(&sets)
}

/// A Name of single-attribute RDNs, all UTF8String except C (PrintableString) and DC (IA5String),
/// as OpenSSL writes them; `(type, value)` in ASN.1 order.
fn openssl_name(attrs: &[(&str, &str)]) -> Vec<u8> {
    let rdns: Vec<Vec<A<'_>>> = attrs
        .iter()
        .map(|&(t, v)| {
            let tag = match t {
                C => PRINTABLE,
                DC | EMAIL => IA5,
                _ => UTF8,
            };
            vec![(t, tag, v.as_bytes())]
        })
        .collect();
    let refs: Vec<&[A<'_>]> = rdns.iter().map(Vec::as_slice).collect();
    name(&refs)
}

/// SAN entries: (context tag number, value).
fn san_ext(sans: &[(u8, &[u8])]) -> Vec<u8> {
    let names: Vec<Vec<u8>> = sans.iter().map(|(n, v)| tlv(0x80 | n, v)).collect();
    seq(&[oid("2.5.29.17"), tlv(0x04, &seq(&names))])
}

const EMAIL_SAN: u8 = 1;
const DNS_SAN: u8 = 2;
const URI_SAN: u8 = 6;

/// A signed v3 certificate with `subject` and `sans`, for `key`, issued by `issuer` (a Name) and
/// signed with `issuer_key` (ECDSA P-256, as `KeyPair::generate` makes).
fn cert_signed(
    subject: &[u8],
    sans: &[(u8, &[u8])],
    key: &KeyPair,
    issuer: &[u8],
    issuer_key: &KeyPair,
) -> Vec<u8> {
    let alg = seq(&[oid("1.2.840.10045.4.3.2")]);
    let mut tbs = vec![
        tlv(0xa0, &tlv(0x02, &[2])),
        tlv(0x02, &[0x01, 0x23, 0x45, 0x67]),
        alg.clone(),
        issuer.to_vec(),
        seq(&[tlv(0x17, b"250101000000Z"), tlv(0x17, b"491231235959Z")]),
        subject.to_vec(),
        key.subject_public_key_info(),
    ];
    if !sans.is_empty() {
        tbs.push(tlv(0xa3, &seq(&[san_ext(sans)])));
    }
    let tbs = seq(&tbs);
    let mut sig = vec![0];
    sig.extend(issuer_key.sign(&tbs).unwrap());
    seq(&[tbs, alg, tlv(0x03, &sig)])
}

/// A self-signed certificate (the signature is never checked here).
fn cert(subject: &[u8], sans: &[(u8, &[u8])]) -> Vec<u8> {
    let key = KeyPair::generate().unwrap();
    cert_signed(subject, sans, &key, subject, &key)
}

fn id(subject: &[u8], sans: &[(u8, &[u8])]) -> PeerIdentity {
    PeerIdentity::from_der(&cert(subject, sans)).unwrap()
}

/// A certificate made by rcgen alone.
fn rcgen_cert(dn: &[(DnType, &str)], sans: Vec<SanType>) -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut name = DistinguishedName::new();
    for (t, v) in dn {
        name.push(t.clone(), *v);
    }
    params.distinguished_name = name;
    params.subject_alt_names = sans;
    let der = params.self_signed(&key).unwrap().der().to_vec();
    (der, key)
}

// ---------------------------------------------------------------------------------------------
// Fingerprints and /connz.

#[test]
fn hex_is_lower_case() {
    assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    assert_eq!(hex(&[]), "");
}

#[test]
fn fingerprints_are_of_the_spki_and_of_the_whole_certificate() {
    let (der, key) = rcgen_cert(&[(DnType::CommonName, "fp")], vec![]);
    let id = PeerIdentity::from_der(&der).unwrap();
    let spki: [u8; 32] = Sha256::digest(key.subject_public_key_info()).into();
    assert_eq!(id.spki_sha256(), spki);
    let info = id.connz();
    assert_eq!(info.subject, "CN=fp");
    assert_eq!(info.subject_pk_sha256, hex(&spki));
    assert_eq!(info.cert_sha256, hex(&Sha256::digest(&der)));
    assert_eq!(info.cert_sha256.len(), 64);
}

#[test]
fn connz_json_uses_nats_server_field_names_and_omits_empty() {
    let info = PeerCertInfo {
        subject: "CN=a".into(),
        subject_pk_sha256: "ab".into(),
        cert_sha256: "cd".into(),
    };
    assert_eq!(
        serde_json::to_string(&info).unwrap(),
        r#"{"subject":"CN=a","spki_sha256":"ab","cert_sha256":"cd"}"#
    );
    let empty_subject = PeerCertInfo {
        subject: String::new(),
        ..info
    };
    assert_eq!(
        serde_json::to_string(&empty_subject).unwrap(),
        r#"{"spki_sha256":"ab","cert_sha256":"cd"}"#
    );
}

#[test]
fn refuses_what_go_refuses() {
    let good = cert(&openssl_name(&[(CN, "x")]), &[]);
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(PeerIdentity::from_der(&trailing).is_err());
    assert!(PeerIdentity::from_der(&good[..good.len() - 1]).is_err());
    assert!(PeerIdentity::from_der(b"not a certificate").is_err());

    // Each refused by nats-server 2.15.1 ("TLS handshake error: ... invalid attribute value").
    let bad_subjects: [&[A<'_>]; 8] = [
        &[(CN, PRINTABLE, b"under_score")], // '_' is not in PrintableString
        &[(CN, IA5, "é".as_bytes())],
        &[(CN, NUMERIC, b"12a")],
        &[(CN, UTF8, b"\xff")],
        &[(CN, BMP, b"\0a\0")],         // odd length
        &[(CN, BMP, b"\xd8\x00")],      // a surrogate
        &[(CN, BMP, b"\xff\xfe")],      // a non-character
        &[(CN, RAW, b"\x9f\x20\x01y")], // [32]: Go reads no high tag numbers
    ];
    for rdn in bad_subjects {
        let der = cert(&name(&[rdn]), &[]);
        assert!(PeerIdentity::from_der(&der).is_err(), "{rdn:?}");
    }
    // A non-ASCII SAN (Go: "x509: SAN dNSName is malformed").
    let der = cert(&name(&[]), &[(DNS_SAN, "é.example".as_bytes())]);
    assert!(PeerIdentity::from_der(&der).is_err());
    let der = cert(&name(&[]), &[(EMAIL_SAN, "é@x".as_bytes())]);
    assert!(PeerIdentity::from_der(&der).is_err());
}

#[test]
fn values_that_are_not_strings_are_kept_as_go_keeps_them() {
    // nats-server 2.15.1 accepts these certificates; /connz prints the values as #hex of their
    // DER element; a named type (CN, O, …) with such a value is invisible.
    let uid = "0.9.2342.19200300.100.1.1";
    let id = id(
        &name(&[
            &[(CN, UTF8, b"c")],
            &[(uid, UNIVERSAL, b"\0\0\0a")],
            &[(uid, 0x1a, b"v")],    // VisibleString
            &[(uid, 0x02, b"\x05")], // INTEGER
            &[(uid, 0x30, b"")],     // SEQUENCE
            &[(uid, 0x80, b"x")],    // [0]
            &[(DC, 0x1a, b"d")],
        ]),
        &[],
    );
    assert_eq!(
        id.subject,
        format!(
            "CN=c,{DC}=#1a0164,{uid}=#800178,{uid}=#3000,{uid}=#020105,\
             {uid}=#1a0176,{uid}=#1c0400000061"
        )
    );
    // No DN (go-ldap refuses non-strings) and no DC string (getTLSAuthDCs skips them).
    assert_eq!(
        (id.subject_dn.as_ref(), id.subject_rdns_with_dcs.as_ref()),
        (None, None)
    );
    assert_eq!(id.map_user(&["CN=c,DC=d", "CN=c"]), Some("CN=c"));

    let cn_visible = self::id(&name(&[&[(CN, 0x1a, b"v")]]), &[(DNS_SAN, b"h")]);
    assert_eq!(cn_visible.subject(), "");
    assert_eq!(cn_visible.map_user(&["CN=v", "cn=v", "h"]), Some("h"));
    let o_universal = self::id(
        &name(&[&[(O, UNIVERSAL, b"\0\0\0a")], &[(CN, UTF8, b"c")]]),
        &[],
    );
    assert_eq!(o_universal.subject_rdns, "CN=c");
    assert_eq!(o_universal.map_user(&["cn=c,o=a"]), None);
}

// ---------------------------------------------------------------------------------------------
// Go's strings for the subject.

/// The strings nats-server derives from one certificate.
fn strings(id: &PeerIdentity) -> (&str, &str, Option<&str>) {
    (
        id.subject(),
        id.subject_rdns.as_str(),
        id.subject_rdns_with_dcs.as_deref(),
    )
}

#[test]
fn rdn_string_is_go_order_most_specific_first() {
    // nats-server test/configs/certs/rdns/client-a.pem:
    // C=US, ST=CA, L=Los Angeles, O=NATS, OU=NATS, CN=localhost, DC=foo1, DC=foo2.
    let id = id(
        &openssl_name(&[
            (C, "US"),
            (ST, "CA"),
            (L, "Los Angeles"),
            (O, "NATS"),
            (OU, "NATS"),
            (CN, "localhost"),
            (DC, "foo1"),
            (DC, "foo2"),
        ]),
        &[],
    );
    assert_eq!(
        strings(&id),
        (
            // Types without a short name (DC) print last, in reverse, as dotted OIDs.
            "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,\
             0.9.2342.19200300.100.1.25=foo2,0.9.2342.19200300.100.1.25=foo1",
            "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US",
            Some("CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=foo1,DC=foo2"),
        )
    );
}

#[test]
fn go_reorders_named_fields_and_groups_repeats() {
    // nats-server client-e.pem: -subj "/CN=John Doe/CN=123456/CN=jdoe/OU=Users/OU=Organic Units/
    // DC=acme/DC=com"; its test says Go prints "CN=jdoe,OU=Users+OU=Organic Units".
    let id = id(
        &openssl_name(&[
            (CN, "John Doe"),
            (CN, "123456"),
            (CN, "jdoe"),
            (OU, "Users"),
            (OU, "Organic Units"),
            (DC, "acme"),
            (DC, "com"),
        ]),
        &[],
    );
    assert_eq!(id.subject_rdns, "CN=jdoe,OU=Users+OU=Organic Units");
    assert_eq!(
        id.subject_rdns_with_dcs.as_deref(),
        Some("CN=jdoe,OU=Users+OU=Organic Units,DC=acme,DC=com")
    );
    // C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER, printed in reverse, whatever the
    // certificate's order.
    let id2 = self::id(
        &openssl_name(&[
            ("2.5.4.5", "42"),
            (CN, "c"),
            (OU, "ou"),
            (O, "o"),
            ("2.5.4.17", "90210"),
            ("2.5.4.9", "Main St"),
            (L, "l"),
            (ST, "st"),
            (C, "US"),
        ]),
        &[],
    );
    assert_eq!(
        id2.subject_rdns,
        "SERIALNUMBER=42,CN=c,OU=ou,O=o,POSTALCODE=90210,STREET=Main St,L=l,ST=st,C=US"
    );
    assert_eq!(id2.subject, id2.subject_rdns);
    assert_eq!(id2.subject_rdns_with_dcs, None);
}

#[test]
fn multi_valued_rdn_is_split_by_go() {
    // nats-server client-f.pem: -subj "/DC=org/DC=OpenSSL/DC=DEV+O=users/CN=John Doe"
    // -multivalue-rdn; its test says Go prints "CN=John Doe,O=users".
    let id = id(
        &name(&[
            &[(DC, IA5, b"org")],
            &[(DC, IA5, b"OpenSSL")],
            &[(DC, IA5, b"DEV"), (O, UTF8, b"users")],
            &[(CN, UTF8, b"John Doe")],
        ]),
        &[],
    );
    assert_eq!(id.subject_rdns, "CN=John Doe,O=users");
    // DER sorts O before DC inside the SET, so the DC list reads org, OpenSSL, DEV.
    assert_eq!(
        id.subject_rdns_with_dcs.as_deref(),
        Some("CN=John Doe,O=users,DC=org,DC=OpenSSL,DC=DEV")
    );
    let dn = id.subject_dn.as_ref().unwrap();
    assert_eq!(
        dn,
        &Dn::parse("CN=John Doe,DC=DEV+O=users,DC=OpenSSL,DC=org").unwrap()
    );
}

#[test]
fn values_are_escaped_as_go_escapes_them() {
    let id = id(
        &openssl_name(&[
            (O, " lead"),
            (OU, "trail "),
            (L, "#hash#"),
            (ST, "a,b+c\"d\\e<f>g;h=i"),
            (CN, " "),
        ]),
        &[],
    );
    assert_eq!(
        id.subject_rdns,
        r#"CN=\ ,OU=trail\ ,O=\ lead,L=\#hash#,ST=a\,b\+c\"d\\e\<f\>g\;h=i"#
    );
}

#[test]
fn unnamed_types_print_escaped_values() {
    // Types without a short name print as dotted OIDs, last, in reverse certificate order, their
    // values escaped like the named ones (nats-server 2.15.1 /connz, see the end-to-end note).
    let uid = "0.9.2342.19200300.100.1.1";
    let id = id(
        &openssl_name(&[
            (CN, "c"),
            (uid, " a,b+c\"d\\e<f>g;h=i #"),
            (EMAIL, "#x "),
            ("2.5.4.4", "é"),
        ]),
        &[],
    );
    assert_eq!(
        id.subject,
        r#"CN=c,2.5.4.4=é,1.2.840.113549.1.9.1=\#x\ ,0.9.2342.19200300.100.1.1=\ a\,b\+c\"d\\e\<f\>g\;h=i #"#
    );
    // go-ldap has no name for emailAddress or UID: no DN comparison for this certificate.
    assert_eq!(id.subject_dn, None);
    assert_eq!(id.subject_rdns, "CN=c");
    let id = self::id(
        &name(&[
            &[(CN, UTF8, b"c")],
            &[(uid, UTF8, b"")],
            &[(uid, T61, b"caf\xe9")],
            &[(uid, BMP, b"\0x\0y")],
            &[("2.5.4.42", PRINTABLE, b"given")],
            &[(uid, UTF8, b" ")],
        ]),
        &[],
    );
    let u = uid;
    assert_eq!(
        id.subject,
        format!("CN=c,{u}=\\ ,2.5.4.42=given,{u}=xy,{u}=café,{u}=")
    );
}

#[test]
fn string_types_decode_as_go_decodes_them() {
    let id = id(
        &name(&[
            &[(C, PRINTABLE, b"US")],
            &[(L, T61, b"caf\xe9")],                 // T.61 read as Latin-1
            &[(ST, BMP, b"\x00S\x00t\x00\xe9\0\0")], // UCS-2, trailing NUL dropped
            &[(O, NUMERIC, b"12 34")],
            &[(OU, IA5, b"ia5")],
            &[(CN, PRINTABLE, b"*.example.com & co")], // '*' and '&' accepted
        ]),
        &[],
    );
    assert_eq!(
        id.subject_rdns,
        "CN=*.example.com & co,OU=ia5,O=12 34,L=café,ST=Sté,C=US"
    );
    // The DN comparison and the DC list see the same Latin-1 reading (nats-server 2.15.1: a user
    // "CN=caf\e9" does not log in with a T.61 "caf\xe9", "CN=caf\c3\a9" does).
    let t61 = self::id(&name(&[&[(CN, T61, b"caf\xe9")]]), &[]);
    assert_eq!(t61.map_user(&[r"CN=caf\e9"]), None);
    assert_eq!(t61.map_user(&[r"CN=caf\c3\a9"]), Some(r"CN=caf\c3\a9"));
    assert_eq!(t61.map_user(&["CN=café"]), Some("CN=café"));
    let uid = "0.9.2342.19200300.100.1.1";
    let dc = self::id(
        &name(&[
            &[(CN, UTF8, b"c")],
            &[(uid, UTF8, b"u")],
            &[(DC, T61, b"\xc3\xa9")],
        ]),
        &[],
    );
    assert_eq!(dc.subject_rdns_with_dcs.as_deref(), Some("CN=c,DC=Ã©"));
    assert_eq!(dc.map_user(&["CN=c,DC=é", "CN=c"]), Some("CN=c"));
}

#[test]
fn rcgen_and_the_der_writer_agree() {
    let (der, _) = rcgen_cert(
        &[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "NATS"),
            (DnType::CommonName, "localhost"),
        ],
        vec![],
    );
    let by_rcgen = PeerIdentity::from_der(&der).unwrap();
    let by_hand = id(
        &openssl_name(&[(C, "US"), (O, "NATS"), (CN, "localhost")]),
        &[],
    );
    assert_eq!(strings(&by_rcgen), strings(&by_hand));
    assert_eq!(by_rcgen.subject_dn, by_hand.subject_dn);
    assert_eq!(by_rcgen.subject, "CN=localhost,O=NATS,C=US");
}

// ---------------------------------------------------------------------------------------------
// go-ldap's ParseDN and comparisons.

fn dn(s: &str) -> Vec<Vec<(String, String)>> {
    Dn::parse(s)
        .unwrap_or_else(|| panic!("{s:?} should parse"))
        .rdns
        .into_iter()
        .map(|rdn| {
            rdn.into_iter()
                .map(|a| {
                    (
                        String::from_utf8_lossy(&a.ty).into_owned(),
                        String::from_utf8_lossy(&a.value).into_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

fn p(t: &str, v: &str) -> (String, String) {
    (t.to_string(), v.to_string())
}

#[test]
fn parse_dn_as_go_ldap_does() {
    assert_eq!(
        dn("CN=foo,OU=bar"),
        vec![vec![p("CN", "foo")], vec![p("OU", "bar")]]
    );
    // Spaces around types and values go; escaped ones stay.
    assert_eq!(
        dn(" cn = a b ,  o=\\ x\\ "),
        vec![vec![p("cn", "a b")], vec![p("o", " x ")]]
    );
    assert_eq!(
        dn("CN=a+O=b,DC=c"),
        vec![vec![p("CN", "a"), p("O", "b")], vec![p("DC", "c")]]
    );
    // Escapes: special characters, and \XX hex for one byte (here UTF-8 for é).
    assert_eq!(
        dn(r#"CN=a\,b\+c\=\\\#\;\<\>\""#),
        vec![vec![p("CN", r#"a,b+c=\#;<>""#)]]
    );
    assert_eq!(dn(r"CN=caf\c3\A9"), vec![vec![p("CN", "café")]]);
    // Quirks kept: a second '=' restarts the value; a trailing empty value drops its RDN; an
    // empty string is the empty DN; a backslash at the very end is ignored.
    assert_eq!(dn("CN=a=b"), vec![vec![p("a", "b")]]);
    assert_eq!(dn("CN=a,OU="), vec![vec![p("CN", "a")]]);
    assert_eq!(dn("CN=a+OU="), Vec::<Vec<(String, String)>>::new());
    assert_eq!(dn("CN=a,"), vec![vec![p("CN", "a")]]);
    assert_eq!(dn(""), Vec::<Vec<(String, String)>>::new());
    assert_eq!(dn("CN=a\\"), vec![vec![p("CN", "a")]]);
    // Refused: BER values, a value without a type, bad hex, hex cut short.
    for bad in [
        "CN=#04024869",
        ",CN=a",
        "CN=a,b",
        r"CN=\zz",
        r"CN=\a",
        "plain",
    ] {
        assert!(Dn::parse(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn dn_equality_ignores_type_case_not_value_case() {
    let a = Dn::parse("CN=foo,OU=bar").unwrap();
    assert!(Dn::parse("cn=foo, ou=bar").unwrap().equal(&a));
    assert!(!Dn::parse("CN=Foo,OU=bar").unwrap().equal(&a));
    assert!(!Dn::parse("OU=bar,CN=foo").unwrap().equal(&a));
    assert!(Dn::parse("OU=bar,CN=foo").unwrap().rdns_match(&a));
    assert!(!Dn::parse("OU=bar").unwrap().rdns_match(&a));
    // Inside a multi-valued RDN the order never matters.
    let m = Dn::parse("CN=x+O=y").unwrap();
    assert!(Dn::parse("O=y+CN=x").unwrap().equal(&m));
    assert!(!Dn::parse("O=y+CN=x+CN=x").unwrap().equal(&m));
    // Go's EqualFold: KELVIN SIGN is 'k', LONG S is 's'.
    let st = Dn::parse("ST=CA").unwrap();
    assert!(Dn::parse("\u{17f}t=CA").unwrap().equal(&st));
    assert!(!Dn::parse("S=CA").unwrap().equal(&st));
    assert!(go_equal_fold("\u{212a}".as_bytes(), b"k"));
    assert!(!go_equal_fold("\u{212a}".as_bytes(), b"kk"));
    assert!(!go_equal_fold(b"\xff", b"c"));
}

// ---------------------------------------------------------------------------------------------
// map_user: nats-server's examples and order.

/// nats-server's rdns client certificates (test/configs/certs/rdns), rebuilt with the same subject.
fn rdns_client(dcs: &[&str], ou_first: bool, cn: &str) -> PeerIdentity {
    let mut attrs = vec![(C, "US"), (ST, "CA"), (L, "Los Angeles")];
    if ou_first {
        attrs.extend([(OU, "NATS"), (O, "NATS")]);
    } else {
        attrs.extend([(O, "NATS"), (OU, "NATS")]);
    }
    attrs.push((CN, cn));
    attrs.extend(dcs.iter().map(|d| (DC, *d)));
    let sans: [(u8, &[u8]); 3] = [
        (DNS_SAN, b"localhost"),
        (DNS_SAN, b"example.com"),
        (DNS_SAN, b"www.example.com"),
    ];
    id(&openssl_name(&attrs), &sans)
}

#[test]
fn nats_server_rdn_sequence_examples() {
    // test/tls_test.go TestTLSClientAuthWithRDNSequence, case by case.
    let a = rdns_client(&["foo1", "foo2"], false, "localhost");
    let b = rdns_client(&[], false, "localhost");
    let c = rdns_client(&["foo3", "foo4"], false, "localhost");
    let d = rdns_client(&["example", "com"], true, "*.example.com");
    let full = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=foo1,DC=foo2";
    let original = "DC=foo2,DC=foo1,CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US";
    let partial = "CN=localhost,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US";
    assert_eq!(a.map_user(&[full]), Some(full));
    assert_eq!(a.map_user(&[original]), Some(original));
    // The certificate in the original order wins over the reordered DN.
    assert_eq!(a.map_user(&[full, original]), Some(original));
    assert_eq!(b.map_user(&[original, full, partial]), Some(partial));
    assert_eq!(c.map_user(&[original, full, partial]), Some(partial));
    assert_eq!(c.map_user(&[full, original]), None);
    let spaced = "DC=foo2, DC=foo1, CN=localhost, OU=NATS, O=NATS, L=Los Angeles, ST=CA, C=US";
    assert_eq!(a.map_user(&[spaced]), Some(spaced));
    let d_order =
        "DC=com, DC=example, CN=*.example.com, O=NATS, OU=NATS, L=Los Angeles, ST=CA, C=US";
    assert_eq!(d.map_user(&[d_order]), Some(d_order));
    let d_go = "CN=*.example.com,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US,DC=example,DC=com";
    assert_eq!(d.map_user(&[d_go]), Some(d_go));
    let d_exact = "DC=com,DC=example,CN=*.example.com,O=NATS,OU=NATS,L=Los Angeles,ST=CA,C=US";
    let d_plain = "CN=*.example.com,OU=NATS,O=NATS,L=Los Angeles,ST=CA,C=US";
    assert_eq!(d.map_user(&[d_go, d_exact, d_plain]), Some(d_exact));
}

#[test]
fn nats_server_multi_value_examples() {
    // client-e and client-f of TestTLSClientAuthWithRDNSequence(Reordered).
    let e = id(
        &openssl_name(&[
            (CN, "John Doe"),
            (CN, "123456"),
            (CN, "jdoe"),
            (OU, "Users"),
            (OU, "Organic Units"),
            (DC, "acme"),
            (DC, "com"),
        ]),
        &[],
    );
    let e_user = "DC=com,DC=acme,OU=Organic Units,OU=Users,CN=jdoe,CN=123456,CN=John Doe";
    assert_eq!(e.map_user(&[e_user]), Some(e_user));
    let f = id(
        &name(&[
            &[(DC, IA5, b"org")],
            &[(DC, IA5, b"OpenSSL")],
            &[(DC, IA5, b"DEV"), (O, UTF8, b"users")],
            &[(CN, UTF8, b"John Doe")],
        ]),
        &[(DNS_SAN, b"localhost")],
    );
    for user in [
        "CN=John Doe,DC=DEV+O=users,DC=OpenSSL,DC=org",
        "CN=John Doe,O=users+DC=DEV,DC=OpenSSL,DC=org",
        "DC=org,DC=OpenSSL,O=users+DC=DEV,CN=John Doe",
    ] {
        assert_eq!(f.map_user(&[user]), Some(user));
    }
    for user in [
        "CN=John Doe,DC=DEV,DC=OpenSSL,DC=org",
        "DC=org,DC=OpenSSL,O=users,CN=John Doe",
        "DC=OpenSSL, DC=org, O=users, CN=John Doe",
    ] {
        assert_eq!(f.map_user(&[user]), None, "{user}");
    }
}

#[test]
fn nats_server_cn_san_email_and_uri_examples() {
    // test/configs/tls_cert_cn.conf with tlsauth/client.pem (OU=NATS.io, CN=example.com) and
    // client2.pem (OU=CNCF): users are chosen by subject; the SAN DNS names name no user.
    let users = ["CN=example.com,OU=NATS.io", "CN=example.com,OU=CNCF"];
    let sans: [(u8, &[u8]); 2] = [(DNS_SAN, b"localhost"), (DNS_SAN, b"example.com")];
    let c1 = id(
        &openssl_name(&[(OU, "NATS.io"), (CN, "example.com")]),
        &sans,
    );
    let c2 = id(&openssl_name(&[(OU, "CNCF"), (CN, "example.com")]), &sans);
    assert_eq!(c1.map_user(&users), Some(users[0]));
    assert_eq!(c2.map_user(&users), Some(users[1]));
    // The same certificates made by rcgen.
    let (der, _) = rcgen_cert(
        &[
            (DnType::OrganizationalUnitName, "NATS.io"),
            (DnType::CommonName, "example.com"),
        ],
        vec![SanType::DnsName("localhost".try_into().unwrap())],
    );
    let r = PeerIdentity::from_der(&der).unwrap();
    assert_eq!(r.map_user(&users), Some(users[0]));

    // tls_cert_san_auth.conf / tls_cert_san_emails.conf with sans/*.pem (all CN=www.nats.io).
    let auth = ["CN=www.nats.io", "app.nats.prod", "app.nats.dev"];
    let emails = ["CN=www.nats.io", "*.app.nats.prod", "root@app.nats.dev"];
    let www = openssl_name(&[(CN, "www.nats.io")]);
    let client = id(&www, &[(DNS_SAN, b"localhost"), (DNS_SAN, b"example.com")]);
    let prod = id(
        &www,
        &[(DNS_SAN, b"app.nats.prod"), (DNS_SAN, b"*.app.nats.prod")],
    );
    let dev = id(
        &www,
        &[(DNS_SAN, b"app.nats.dev"), (DNS_SAN, b"*.app.nats.dev")],
    );
    let dev_email = id(
        &www,
        &[
            (DNS_SAN, b"app.nats.dev"),
            (EMAIL_SAN, b"admin@app.nats.dev"),
            (EMAIL_SAN, b"root@app.nats.dev"),
        ],
    );
    assert_eq!(client.map_user(&auth), Some("CN=www.nats.io"));
    assert_eq!(prod.map_user(&auth), Some("app.nats.prod"));
    assert_eq!(dev.map_user(&auth), Some("app.nats.dev"));
    assert_eq!(prod.map_user(&emails), Some("*.app.nats.prod"));
    // E-mails come before DNS names, whatever their order in the certificate.
    assert_eq!(
        dev_email.map_user(&["app.nats.dev", "root@app.nats.dev"]),
        Some("root@app.nats.dev")
    );
    assert_eq!(dev_email.map_user(&emails), Some("root@app.nats.dev"));

    // tls_cert_id.conf: user derek@nats.io from an e-mail SAN, made by rcgen.
    let (der, _) = rcgen_cert(
        &[(DnType::CommonName, "derek")],
        vec![SanType::Rfc822Name("derek@nats.io".try_into().unwrap())],
    );
    let derek = PeerIdentity::from_der(&der).unwrap();
    assert_eq!(derek.map_user(&["derek@nats.io"]), Some("derek@nats.io"));

    // TestTLSClientSVIDAuth: svid/client-a.pem has DNS SANs, a SPIFFE URI and the rdns subject.
    let svid = |uri: &'static [u8], attrs: &[(&str, &str)]| {
        id(
            &openssl_name(attrs),
            &[
                (DNS_SAN, b"localhost"),
                (DNS_SAN, b"example.com"),
                (URI_SAN, uri),
            ],
        )
    };
    let a = svid(
        b"spiffe://localhost/my-nats-service/user-a",
        &[(C, "US"), (O, "NATS"), (CN, "localhost")],
    );
    let user_a = "spiffe://localhost/my-nats-service/user-a";
    let user_b = "spiffe://localhost/my-nats-service/user-b";
    assert_eq!(a.map_user(&[user_a]), Some(user_a));
    assert_eq!(a.map_user(&[user_b, user_a]), Some(user_a));
    assert_eq!(
        a.map_user(&["spiffe://localhost/my-nats-service/user-c"]),
        None
    );
    let b = svid(
        b"spiffe://localhost/my-nats-service/user-b",
        &[(C, "US"), (O, "SPIRE")],
    );
    assert_eq!(b.map_user(&["O=SPIRE,C=US"]), Some("O=SPIRE,C=US"));
}

#[test]
fn order_of_attempts() {
    let subject = openssl_name(&[(C, "US"), (CN, "c"), (DC, "d")]);
    let all: [(u8, &[u8]); 3] = [
        (URI_SAN, b"urn:x"),
        (DNS_SAN, b"h.example"),
        (EMAIL_SAN, b"e@x"),
    ];
    let id = id(&subject, &all);
    let dn_exact = "DC=d,CN=c,C=US";
    let dn_reordered = "C=US,DC=d,CN=c";
    let with_dcs = "CN=c,C=US,DC=d";
    let plain = "CN=c,C=US";
    let mut users = vec![
        plain,
        with_dcs,
        dn_reordered,
        dn_exact,
        "urn:x",
        "h.example",
        "e@x",
    ];
    // Remove the winner each time: e-mail, DNS, URI, DN equal, DN reordered (the string with DCs
    // also reads as a DN with the same RDNs, and is listed first), then the plain string.
    let mut got = Vec::new();
    while let Some(u) = id.map_user(&users) {
        got.push(u);
        users.retain(|x| *x != u);
    }
    assert_eq!(
        got,
        vec![
            "e@x",
            "h.example",
            "urn:x",
            dn_exact,
            with_dcs,
            dn_reordered,
            plain
        ]
    );
    // Where go-ldap cannot read the subject (a UID), the string with DCs comes before the plain one.
    let uid = "0.9.2342.19200300.100.1.1";
    let id2 = self::id(
        &openssl_name(&[(C, "US"), (CN, "c"), (uid, "u"), (DC, "d")]),
        &[],
    );
    assert_eq!(id2.subject_dn, None);
    assert_eq!(id2.map_user(&[plain, with_dcs]), Some(with_dcs));
    assert_eq!(id2.map_user(&[plain, dn_exact]), Some(plain));
    // A DN with the wrong type case still beats a literal string later in the order.
    assert_eq!(
        id.map_user(&[plain, "dc=d,cn=c,c=US"]),
        Some("dc=d,cn=c,c=US")
    );
    // Between names that match at the same step, the first listed wins.
    assert_eq!(
        id.map_user(&["dc=d,cn=c,c=US", dn_exact]),
        Some("dc=d,cn=c,c=US")
    );
    // map_name (leafnode, cluster, gateway) has no DN step.
    assert_eq!(id.map_name(&[dn_exact, plain]), Some(plain));
    assert_eq!(id.map_name(&[plain, with_dcs]), Some(with_dcs));
    assert_eq!(id.map_name(&["h.example", "e@x"]), Some("e@x"));
    assert_eq!(id.map_name(&[dn_exact]), None);
}

#[test]
fn literal_names_are_exact() {
    let id = id(
        &openssl_name(&[(CN, "c")]),
        &[
            (URI_SAN, b"SPIFFE://Trust.Domain/Path"),
            (DNS_SAN, b"Host.Example"),
        ],
    );
    // Go lower-cases a URI's scheme only; everything else compares byte for byte.
    assert_eq!(
        id.map_user(&["spiffe://Trust.Domain/Path"]),
        Some("spiffe://Trust.Domain/Path")
    );
    assert_eq!(id.map_user(&["SPIFFE://Trust.Domain/Path"]), None);
    assert_eq!(id.map_user(&["host.example"]), None);
    assert_eq!(id.map_user(&["Host.Example"]), Some("Host.Example"));
    assert_eq!(id.map_user(&["cn=c"]), Some("cn=c")); // a DN, types fold
    assert_eq!(id.map_user(&["CN=C"]), None); // values do not
    assert_eq!(id.dns_names(), ["Host.Example".to_string()]);
    assert_eq!(go_url_string("urn:uuid:AB"), "urn:uuid:AB");
    assert_eq!(go_url_string("HTTPS://H/%41"), "https://H/%41");
    assert_eq!(go_url_string("1a:b"), "1a:b");
    assert_eq!(go_url_string("no-scheme"), "no-scheme");
}

#[test]
fn empty_rdns_are_skipped() {
    // An empty SET in the subject (accepted by nats-server 2.15.1, which logs in "CN=c").
    let mut subject = openssl_name(&[(CN, "c")]);
    subject = seq(&[subject[2..].to_vec(), tlv(0x31, &[])]);
    let id = id(&subject, &[]);
    assert_eq!(id.subject(), "CN=c");
    assert_eq!(id.subject_dn, Dn::parse("CN=c"));
    assert_eq!(id.map_user(&["cn=c"]), Some("cn=c"));
}

#[test]
fn empty_subject_and_empty_names() {
    // No SAN and an empty Subject.String(): nats-server stops before any comparison.
    let empty = id(&name(&[]), &[]);
    assert_eq!(empty.subject(), "");
    assert_eq!(empty.map_user(&["", "=", "CN="]), None);
    // A CN with an empty value still prints nothing.
    let empty_cn = id(&openssl_name(&[(CN, "")]), &[]);
    assert_eq!(empty_cn.subject(), "");
    assert_eq!(empty_cn.map_user(&["", "CN="]), None);
    // With a SAN, the empty subject is the empty DN, which "" and "=" parse to (go-ldap), but an
    // empty literal never names a user.
    let san_only = id(&name(&[]), &[(DNS_SAN, b"h")]);
    assert_eq!(san_only.map_user(&["nobody", "="]), Some("="));
    assert_eq!(san_only.map_name(&["", "="]), None);
    assert_eq!(san_only.map_user(&["h"]), Some("h"));
}

#[test]
fn go_ldap_quirks_as_nats_server_applies_them() {
    // Each checked against nats-server 2.15.1.
    let b = id(&openssl_name(&[(O, "o"), (CN, "b")]), &[]);
    // A second '=' restarts the value, so this user is the DN "CN=b" (type "x=CN" is dropped).
    let one = id(&openssl_name(&[(CN, "b")]), &[]);
    assert_eq!(one.map_user(&["x=CN=b"]), Some("x=CN=b"));
    // A trailing empty value is dropped with its RDN.
    assert_eq!(b.map_user(&["CN=b,O=o,OU="]), Some("CN=b,O=o,OU="));
    // Spaces around types and values do not count.
    let bc = id(&openssl_name(&[(O, "o"), (CN, "b c")]), &[]);
    let spaced = "  CN = b c ,  O = o  ";
    assert_eq!(bc.map_user(&[spaced]), Some(spaced));
    // \XX escapes give bytes.
    let cafe = id(&openssl_name(&[(CN, "café")]), &[]);
    assert_eq!(cafe.map_user(&[r"CN=caf\c3\a9"]), Some(r"CN=caf\c3\a9"));
    // LONG S folds to 's' in a type name.
    let st = id(&openssl_name(&[(ST, "CA"), (CN, "c")]), &[]);
    assert_eq!(st.map_user(&["CN=c,\u{17f}T=CA"]), Some("CN=c,\u{17f}T=CA"));
    // The Go string of a subject whose value holds '=' does not read back as the same DN, so it
    // logs in by the literal step 6.
    let eq = id(&openssl_name(&[(ST, "a,b;h=i"), (CN, "c")]), &[]);
    assert_eq!(eq.subject_rdns, r"CN=c,ST=a\,b\;h=i");
    assert!(Dn::parse(&eq.subject_rdns).unwrap() != *eq.subject_dn.as_ref().unwrap());
    assert_eq!(
        eq.map_user(&[r"CN=c,ST=a\,b\;h=i"]),
        Some(r"CN=c,ST=a\,b\;h=i")
    );
}

#[test]
fn uris_that_print_back_unchanged() {
    // nats-server 2.15.1 logs these in under the URI as written (scheme lower-cased).
    for (uri, user) in [
        ("spiffe://h/a%41b", "spiffe://h/a%41b"),
        ("https://h/p?q=1#f", "https://h/p?q=1#f"),
        ("URN:UUID:ABC", "urn:UUID:ABC"),
        ("SPIFFE://Trust.Domain/Path", "spiffe://Trust.Domain/Path"),
    ] {
        let id = id(&openssl_name(&[(CN, "c")]), &[(URI_SAN, uri.as_bytes())]);
        assert_eq!(id.map_user(&[user]), Some(user), "{uri}");
    }
}
