//! What a peer certificate says, for `verify_and_map`, `pinned_certs` and `/connz`. Pure.
//!
//! nats-server reads a verified client's leaf certificate through Go's `crypto/x509` and its
//! vendored go-ldap DN code. [`PeerIdentity::from_der`] reads the certificate once and keeps every
//! string nats-server derives from it; [`PeerIdentity::map_user`] then tries them against the
//! configured user names in nats-server's order (server/auth.go `checkClientTLSCertSubject`,
//! 1331-1425, with the client callback of `processClientOrLeafAuthentication`, 926-990):
//!
//! 1. each SAN e-mail address, 2. each SAN DNS name, 3. each SAN URI (as Go's `URL.String()` prints
//!    it) — each as a literal user name (auth.go 1355-1379);
//! 4. the subject as a distinguished name (go-ldap `FromRawCertSubject`, internal/ldap/dn.go 80):
//!    every configured user name that parses as a DN (`ParseDN`, dn.go 126) is compared with the
//!    certificate's, first position by position (`DN.Equal`, dn.go 220) over all users, then in
//!    any order (`RDNsMatch`, dn.go 234) (auth.go 1387-1394, 939-974);
//! 5. Go's `pkix` RDN string of the subject with the domain components appended (`…,DC=a,DC=b`,
//!    `getTLSAuthDCs`, auth.go 1309, 1396-1414);
//! 6. Go's `pkix` RDN string alone, e.g. `CN=example.com,OU=NATS.io` (auth.go 1418).
//!
//! Behaviour follows nats-server 2.15.1 as built (Go 1.26/1.27), checked end to end (see the tests'
//! module note); where Go's own behaviour changed between versions, the item says so.
//!
//! The file has three parts: the identity itself (SANs, fingerprints, the order above), Go's
//! `pkix.Name` strings (how Go reads and prints a subject) and go-ldap's distinguished names (how
//! a user name is read as a DN and compared).

use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// What corenats needs from a verified client's leaf certificate. Built once per connection by
/// [`PeerIdentity::from_der`]; every field is computed there so that matching only compares strings.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerIdentity {
    /// SAN rfc822Name entries in certificate order (Go: `cert.EmailAddresses`). ASCII.
    emails: Vec<String>,
    /// SAN dNSName entries in certificate order (Go: `cert.DNSNames`). ASCII.
    dns_names: Vec<String>,
    /// SAN uniformResourceIdentifier entries in certificate order, as Go's `URL.String()` prints
    /// them (see [`go_url_string`]).
    uris: Vec<String>,
    /// The subject as go-ldap's `FromRawCertSubject` builds it: RDNs and the attributes inside each
    /// in reverse certificate order (RFC 4514 string order). `None` where go-ldap refuses the
    /// subject: an attribute type outside its short-name table (e.g. emailAddress, UID).
    subject_dn: Option<Dn>,
    /// Go's `cert.Subject.ToRDNSequence().String()`: the named fields only, in Go's fixed order.
    subject_rdns: String,
    /// [`Self::subject_rdns`] + `,` + the domain components (`DC=a,DC=b`, certificate order), as
    /// nats-server's `getTLSAuthDCs` appends them. `None` without DCs.
    subject_rdns_with_dcs: Option<String>,
    /// Go's `cert.Subject.String()`: `/connz` `subject`, and whether the certificate has a subject.
    subject: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo.
    spki_sha256: [u8; 32],
    /// SHA-256 of the whole DER certificate.
    cert_sha256: [u8; 32],
}

/// A `/connz` `tls_peer_certs` entry, with nats-server's JSON field names (server/monitor.go
/// `TLSPeerCert`; every field `omitempty`).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PeerCertInfo {
    /// Go's `cert.Subject.String()`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo.
    #[serde(rename = "spki_sha256", skip_serializing_if = "String::is_empty")]
    pub subject_pk_sha256: String,
    /// Lower-case hex SHA-256 of the DER certificate.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cert_sha256: String,
}

/// Lower-case hex (pinned_certs are compared as bytes; config parsing lower-cases).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

impl PeerIdentity {
    /// Parses a DER certificate (the leaf, as rustls gives it). Refuses what Go's `crypto/x509`
    /// refuses in the parts read here (so nats-server would have failed the handshake): trailing
    /// bytes, a SAN e-mail, DNS name or URI that is not ASCII, a subject value of one of Go's six
    /// string types that breaks that type's rules, a subject value with a tag number of 31 or more.
    pub fn from_der(der: &[u8]) -> Result<PeerIdentity, String> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("invalid certificate: {e}"))?;
        if !rest.is_empty() {
            return Err("invalid certificate: trailing data".to_string());
        }
        let (emails, dns_names, uris) = alt_names(&cert)?;
        let subject = Subject::read(cert.subject())?;
        let subject_rdns = pkix::rdn_sequence_string(&subject.to_rdn_sequence());
        let subject_rdns_with_dcs = subject.dcs().map(|dcs| format!("{subject_rdns},{dcs}"));
        Ok(PeerIdentity {
            emails,
            dns_names,
            uris,
            subject_dn: subject.ldap_dn(),
            subject_rdns,
            subject_rdns_with_dcs,
            subject: subject.name_string(),
            spki_sha256: Sha256::digest(cert.public_key().raw).into(),
            cert_sha256: Sha256::digest(der).into(),
        })
    }

    /// verify_and_map: the configured user name this certificate logs in as, in nats-server's order,
    /// or None. `users` are the configured user names that may log in this way (the caller has already
    /// filtered by allowed connection types).
    ///
    /// Where nats-server walks its user map (in Go's random order) and several names would match at
    /// the same step, the first in `users` wins.
    pub fn map_user<'a>(&self, users: &[&'a str]) -> Option<&'a str> {
        if !self.has_names() {
            return None;
        }
        let literal = |name: &str| -> Option<&'a str> {
            // An empty candidate never names a user: nats-server's callback reads "" as "compare
            // distinguished names" and has no DN to compare in that call.
            if name.is_empty() {
                return None;
            }
            users.iter().copied().find(|u| *u == name)
        };
        if let Some(u) = self.alt_names().find_map(literal) {
            return Some(u);
        }
        if let Some(cert_dn) = &self.subject_dn {
            let parsed: Vec<(&'a str, Dn)> = users
                .iter()
                .filter_map(|u| Dn::parse(u).map(|dn| (*u, dn)))
                .collect();
            let equal = parsed.iter().find(|(_, dn)| dn.equal(cert_dn));
            let reordered = || parsed.iter().find(|(_, dn)| dn.rdns_match(cert_dn));
            if let Some((u, _)) = equal.or_else(reordered) {
                return Some(u);
            }
        }
        if let Some(u) = self.subject_rdns_with_dcs.as_deref().and_then(literal) {
            return Some(u);
        }
        literal(&self.subject_rdns)
    }

    /// The leafnode `users` / cluster and gateway `authorization.user` form of [`Self::map_user`]:
    /// the same literal candidates (steps 1-3, 5, 6) without the distinguished-name comparison, as
    /// nats-server's leafnode, route and gateway callbacks ignore the DN (server/auth.go
    /// `isRouterAuthorized`, `isGatewayAuthorized`, `isLeafNodeAuthorized`).
    pub fn map_name<'a>(&self, users: &[&'a str]) -> Option<&'a str> {
        if !self.has_names() {
            return None;
        }
        self.alt_names()
            .chain(self.subject_rdns_with_dcs.as_deref())
            .chain(std::iter::once(self.subject_rdns.as_str()))
            .filter(|name| !name.is_empty())
            .find_map(|name| users.iter().copied().find(|u| *u == name))
    }

    /// SAN DNS names in certificate order (for `verify_cert_and_check_known_urls`).
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo (pinned_certs).
    pub fn spki_sha256(&self) -> [u8; 32] {
        self.spki_sha256
    }

    /// `/connz` `tls_peer_certs` entry: nats-server's fields.
    pub fn connz(&self) -> PeerCertInfo {
        PeerCertInfo {
            subject: self.subject.clone(),
            subject_pk_sha256: hex(&self.spki_sha256),
            cert_sha256: hex(&self.cert_sha256),
        }
    }

    /// Go's `cert.Subject.String()` (also `/connz` `subject`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// nats-server gives up at once when a certificate has no SAN of the three kinds and an empty
    /// `Subject.String()`.
    fn has_names(&self) -> bool {
        !(self.emails.is_empty()
            && self.dns_names.is_empty()
            && self.uris.is_empty()
            && self.subject.is_empty())
    }

    /// Steps 1-3: e-mails, then DNS names, then URIs.
    fn alt_names(&self) -> impl Iterator<Item = &str> {
        self.emails
            .iter()
            .chain(&self.dns_names)
            .chain(&self.uris)
            .map(String::as_str)
    }
}

/// The SAN e-mails, DNS names and URIs, each in certificate order, refusing what Go refuses.
type AltNames = (Vec<String>, Vec<String>, Vec<String>);

fn alt_names(cert: &X509Certificate<'_>) -> Result<AltNames, String> {
    let (mut emails, mut dns_names, mut uris) = (Vec::new(), Vec::new(), Vec::new());
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("invalid subject alternative name: {e}"))?;
    let Some(san) = san else {
        return Ok((emails, dns_names, uris));
    };
    let ascii = |kind: &str, s: &str| -> Result<String, String> {
        if s.is_ascii() {
            Ok(s.to_string())
        } else {
            Err(format!("SAN {kind} is malformed"))
        }
    };
    for name in &san.value.general_names {
        match name {
            GeneralName::RFC822Name(s) => emails.push(ascii("rfc822Name", s)?),
            GeneralName::DNSName(s) => dns_names.push(ascii("dNSName", s)?),
            GeneralName::URI(s) => uris.push(go_url_string(&ascii("URI", s)?)),
            GeneralName::Invalid(tag, _) if matches!(tag.0, 1 | 2 | 6) => {
                return Err("SAN entry is malformed".to_string());
            }
            _ => {}
        }
    }
    Ok((emails, dns_names, uris))
}

/// A SAN URI as Go prints the parsed `*url.URL`: `url.Parse` lower-cases the scheme, and for the
/// URIs certificates carry (`spiffe://domain/path`, `urn:…`, `https://host/path?query#fragment`,
/// percent-escapes in the path) the rest prints back as written.
///
/// Not modelled: Go re-escapes what it has unescaped in the user info, the host and the fragment,
/// and drops an empty `//` authority; nats-server 2.15.1 logs the SAN URIs `https://u%41@h/p`,
/// `x:/p#a b` and `spiffe://` in as `https://uA@h/p`, `x:/p#a%20b` and `spiffe:`, where these match
/// them as written. None of them can be a SPIFFE ID. Nor are the URIs Go's parser refuses (which
/// fail nats-server's handshake) refused here.
fn go_url_string(uri: &str) -> String {
    let scheme_len = uri
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
        .filter(|&i| i > 0 && uri.as_bytes()[i] == b':' && uri.as_bytes()[0].is_ascii_alphabetic());
    match scheme_len {
        Some(i) => format!("{}{}", uri[..i].to_ascii_lowercase(), &uri[i..]),
        None => uri.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The subject as Go reads it.

/// One subject attribute.
#[derive(Debug, Clone)]
struct Attribute {
    /// The attribute type, dotted decimal (`2.5.4.3`).
    oid: String,
    value: Value,
}

/// An attribute value as Go holds it. nats-server reads the subject twice, through `crypto/x509`
/// (`cert.Subject`) and through `encoding/asn1` (`cert.RawSubject`: go-ldap's DN and the DC list);
/// the Go that builds nats-server 2.15 gives the same strings both ways (T.61 as Latin-1 in both),
/// so one value serves both. Checked end to end against nats-server 2.15.1.
#[derive(Debug, Clone)]
enum Value {
    /// One of the six string types Go decodes (see [`go_value`]).
    Text(String),
    /// Any other type (UniversalString, VisibleString, INTEGER, …), kept as its DER element. Go
    /// accepts the certificate but fills no named field with it, prints it as `#` + hex of the
    /// element, and go-ldap refuses the subject.
    Other(Vec<u8>),
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            Value::Other(_) => None,
        }
    }
}

/// The subject's RDNs in certificate (ASN.1) order; each RDN's attributes in encoded order.
struct Subject {
    rdns: Vec<Vec<Attribute>>,
}

const OID_CN: &str = "2.5.4.3";
const OID_SERIALNUMBER: &str = "2.5.4.5";
const OID_C: &str = "2.5.4.6";
const OID_L: &str = "2.5.4.7";
const OID_ST: &str = "2.5.4.8";
const OID_STREET: &str = "2.5.4.9";
const OID_O: &str = "2.5.4.10";
const OID_OU: &str = "2.5.4.11";
const OID_POSTALCODE: &str = "2.5.4.17";
const OID_DC: &str = "0.9.2342.19200300.100.1.25";

impl Subject {
    /// Reads every attribute value as Go does; a string Go cannot decode is an error (Go's
    /// certificate parser refuses the certificate).
    fn read(name: &X509Name<'_>) -> Result<Subject, String> {
        let mut out = Vec::new();
        for rdn in name.iter() {
            let mut attrs = Vec::new();
            for atv in rdn.iter() {
                let oid = atv.attr_type().to_id_string();
                let value = go_value(atv.attr_value())
                    .map_err(|e| format!("invalid subject attribute {oid}: {e}"))?;
                attrs.push(Attribute { oid, value });
            }
            out.push(attrs);
        }
        Ok(Subject { rdns: out })
    }

    fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.rdns.iter().flatten()
    }

    /// The string attributes of one type, in certificate order.
    fn texts<'s>(&'s self, oid: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.attributes()
            .filter(move |a| a.oid == oid)
            .filter_map(|a| a.value.text())
    }

    /// Go's `Name.ToRDNSequence()` after `FillFromRDNSequence`: one RDN per named field in Go's
    /// order C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER; a field seen several times is
    /// one multi-valued RDN; CN and SERIALNUMBER keep the last value and are left out when empty;
    /// every other attribute type, and every value that is not a string, is dropped.
    fn to_rdn_sequence(&self) -> pkix::RdnSequence<'_> {
        let mut seq = Vec::new();
        for oid in [
            OID_C,
            OID_ST,
            OID_L,
            OID_STREET,
            OID_POSTALCODE,
            OID_O,
            OID_OU,
        ] {
            let rdn: Vec<_> = self
                .texts(oid)
                .map(|v| (oid, pkix::Printed::Text(v)))
                .collect();
            if !rdn.is_empty() {
                seq.push(rdn);
            }
        }
        for oid in [OID_CN, OID_SERIALNUMBER] {
            if let Some(last) = self.texts(oid).last().filter(|v| !v.is_empty()) {
                seq.push(vec![(oid, pkix::Printed::Text(last))]);
            }
        }
        seq
    }

    /// Go's `Name.String()`: the attributes of types without a named field (in certificate order,
    /// one RDN each) placed before [`Self::to_rdn_sequence`], so they print last.
    fn name_string(&self) -> String {
        let named = [
            OID_CN,
            OID_SERIALNUMBER,
            OID_C,
            OID_L,
            OID_ST,
            OID_STREET,
            OID_O,
            OID_OU,
            OID_POSTALCODE,
        ];
        let mut seq: pkix::RdnSequence<'_> = self
            .attributes()
            .filter(|a| !named.contains(&a.oid.as_str()))
            .map(|a| {
                let printed = match &a.value {
                    Value::Text(s) => pkix::Printed::Text(s),
                    Value::Other(der) => pkix::Printed::Der(der),
                };
                vec![(a.oid.as_str(), printed)]
            })
            .collect();
        seq.extend(self.to_rdn_sequence());
        pkix::rdn_sequence_string(&seq)
    }

    /// nats-server's `getTLSAuthDCs`: `DC=<value>` for each string domain component in
    /// certificate order, unescaped, joined by `,`. `None` without DCs.
    fn dcs(&self) -> Option<String> {
        let dcs: Vec<String> = self.texts(OID_DC).map(|v| format!("DC={v}")).collect();
        (!dcs.is_empty()).then(|| dcs.join(","))
    }

    /// go-ldap's `FromRawCertSubject`: RDNs reversed, attributes inside each reversed, empty RDNs
    /// skipped, types by short name; `None` when a type has no short name in go-ldap's table or a
    /// value is not a string.
    fn ldap_dn(&self) -> Option<Dn> {
        let mut rdns = Vec::new();
        for rdn in self.rdns.iter().rev().filter(|rdn| !rdn.is_empty()) {
            let mut attrs = Vec::new();
            for a in rdn.iter().rev() {
                attrs.push(Atv {
                    ty: ldap_short_name(&a.oid)?.as_bytes().to_vec(),
                    value: a.value.text()?.as_bytes().to_vec(),
                });
            }
            rdns.push(attrs);
        }
        Some(Dn { rdns })
    }
}

/// go-ldap's `attributeTypeNames`: Go's `pkix` short names plus DC.
fn ldap_short_name(oid: &str) -> Option<&'static str> {
    if oid == OID_DC {
        Some("DC")
    } else {
        pkix::short_name(oid)
    }
}

/// An attribute value as Go reads it. The six string types are decoded and checked, and a bad one
/// fails the certificate: T61String (read as Latin-1), PrintableString (its character set plus `*`
/// and `&`), UTF8String (valid UTF-8), BMPString (UCS-2 without surrogates or non-characters, a
/// trailing NUL dropped), IA5String (ASCII), NumericString (digits, space). Any other element
/// (another class, constructed, another tag) is [`Value::Other`], except a tag number of 31 or
/// more, which Go's DER reader refuses ("invalid ASN.1 element").
fn go_value(value: &Any<'_>) -> Result<Value, String> {
    let data = value.data;
    if value.tag().0 >= 0x1f {
        return Err("invalid ASN.1 element".to_string());
    }
    if value.class() != Class::Universal || value.header.constructed() {
        return Ok(Value::Other(der_element(value)));
    }
    let ascii_where = |ok: fn(u8) -> bool, what: &str| -> Result<String, String> {
        if data.iter().all(|&b| ok(b)) {
            // All bytes ASCII, so this is the byte string unchanged.
            Ok(String::from_utf8_lossy(data).into_owned())
        } else {
            Err(format!("invalid {what}"))
        }
    };
    let text = match value.tag() {
        Tag::T61String => data.iter().map(|&b| char::from(b)).collect(),
        Tag::PrintableString => ascii_where(is_printable, "PrintableString")?,
        Tag::Ia5String => ascii_where(|b| b.is_ascii(), "IA5String")?,
        Tag::NumericString => ascii_where(|b| b.is_ascii_digit() || b == b' ', "NumericString")?,
        Tag::Utf8String => {
            String::from_utf8(data.to_vec()).map_err(|_| "invalid UTF-8 string".to_string())?
        }
        Tag::BmpString => bmp_string(data)?,
        _ => return Ok(Value::Other(der_element(value))),
    };
    Ok(Value::Text(text))
}

/// The DER element (identifier, length, contents) of a parsed value, as Go keeps it. Tag numbers
/// are below 31 (see [`go_value`]), so the identifier is one byte.
fn der_element(value: &Any<'_>) -> Vec<u8> {
    let class = match value.class() {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let constructed = if value.header.constructed() { 0x20 } else { 0 };
    let mut out = Vec::with_capacity(value.data.len() + 6);
    out.push(class | constructed | (value.tag().0 & 0x1f) as u8);
    let len = value.data.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(value.data);
    out
}

/// Go's PrintableString character set, with `*` and `&` (which Go's parsers accept).
fn is_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?*&".contains(&b)
}

fn bmp_string(data: &[u8]) -> Result<String, String> {
    let bad = || "invalid BMPString".to_string();
    if !data.len().is_multiple_of(2) {
        return Err(bad());
    }
    let data = data.strip_suffix(&[0, 0]).unwrap_or(data);
    let mut out = String::with_capacity(data.len() / 2);
    for pair in data.chunks_exact(2) {
        let unit = u16::from_be_bytes([pair[0], pair[1]]);
        let reserved = unit >= 0xfffe || (0xfdd0..=0xfdef).contains(&unit);
        let c = char::from_u32(u32::from(unit))
            .filter(|_| !reserved)
            .ok_or_else(bad)?;
        out.push(c);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Go's `crypto/x509/pkix` strings.

mod pkix {
    /// An RDN sequence in ASN.1 order; each attribute as `(dotted OID, value)`.
    pub(super) type RdnSequence<'a> = Vec<Vec<(&'a str, Printed<'a>)>>;

    /// An attribute value to print.
    #[derive(Clone, Copy)]
    pub(super) enum Printed<'a> {
        /// A string: printed escaped.
        Text(&'a str),
        /// Any other value, as its DER element: printed as `#` + hex.
        Der(&'a [u8]),
    }

    /// Go's `attributeTypeNames` in `crypto/x509/pkix`.
    pub(super) fn short_name(oid: &str) -> Option<&'static str> {
        Some(match oid {
            "2.5.4.6" => "C",
            "2.5.4.10" => "O",
            "2.5.4.11" => "OU",
            "2.5.4.3" => "CN",
            "2.5.4.5" => "SERIALNUMBER",
            "2.5.4.7" => "L",
            "2.5.4.8" => "ST",
            "2.5.4.9" => "STREET",
            "2.5.4.17" => "POSTALCODE",
            _ => return None,
        })
    }

    /// Go's `RDNSequence.String()`: RDNs last to first joined by `,`, the attributes of one RDN in
    /// order joined by `+`, each as `SHORT=value`, or `dotted.oid=value` for a type without a short
    /// name; a string value escaped as RFC 4514 asks, any other as `#` + hex of its DER element.
    ///
    /// Go up to 1.25 printed every value of a type without a short name as `#` + hex
    /// (golang/go#33093) and refused certificates with non-string values; the Go that builds
    /// nats-server 2.15 prints strings escaped and keeps other values. Checked against nats-server
    /// 2.15.1's `/connz` (see the end-to-end note in the tests).
    pub(super) fn rdn_sequence_string(seq: &RdnSequence<'_>) -> String {
        let mut out = String::new();
        for (i, rdn) in seq.iter().rev().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, (oid, value)) in rdn.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(short_name(oid).unwrap_or(oid));
                out.push('=');
                match value {
                    Printed::Text(text) => escape_value(text, &mut out),
                    Printed::Der(der) => {
                        out.push('#');
                        out.push_str(&super::hex(der));
                    }
                }
            }
        }
        out
    }

    /// Go's escaping: `,+"\<>;` anywhere, a space first or last, `#` first; nothing else.
    fn escape_value(value: &str, out: &mut String) {
        let last = value.len().wrapping_sub(1);
        for (k, c) in value.char_indices() {
            let escape = match c {
                ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
                ' ' => k == 0 || k == last,
                '#' => k == 0,
                _ => false,
            };
            if escape {
                out.push('\\');
            }
            out.push(c);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// go-ldap distinguished names (nats-server's internal/ldap/dn.go).

/// One attribute of a DN: the type as written (`CN`, `cn`, …) and the value's bytes (a user name's
/// `\XX` escapes may produce any byte).
#[derive(Debug, Clone, PartialEq)]
struct Atv {
    ty: Vec<u8>,
    value: Vec<u8>,
}

/// A distinguished name in RFC 4514 string order (most specific RDN first).
#[derive(Debug, Clone, PartialEq)]
struct Dn {
    rdns: Vec<Vec<Atv>>,
}

impl Dn {
    /// go-ldap's `ParseDN`, byte by byte with its quirks: spaces before a type or value and
    /// unescaped trailing spaces are dropped; `\` escapes one special character or gives one byte
    /// from two hex digits; a value starting with `#` is refused; an `=` inside a value starts the
    /// value again; a last attribute with an empty value is dropped together with its RDN; a
    /// backslash at the very end is ignored; `""` is the empty DN.
    fn parse(s: &str) -> Option<Dn> {
        let s = s.as_bytes();
        let mut rdns = Vec::new();
        let mut rdn = Vec::new();
        let mut ty = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        // Unescaped spaces at the end of `buf`, cut when it is taken.
        let mut trailing = 0;
        let mut escaping = false;
        // go-ldap's `stringFromBuffer`.
        let take = |buf: &mut Vec<u8>, trailing: &mut usize| {
            let mut v = std::mem::take(buf);
            v.truncate(v.len() - *trailing);
            *trailing = 0;
            v
        };
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            if escaping {
                trailing = 0;
                escaping = false;
                if b" \"#+,;<=>\\".contains(&c) {
                    buf.push(c);
                } else {
                    let lo = *s.get(i + 1)?;
                    buf.push(hex_digit(c)? << 4 | hex_digit(lo)?);
                    i += 1;
                }
            } else {
                match c {
                    b'\\' => {
                        trailing = 0;
                        escaping = true;
                    }
                    b'=' => {
                        ty = take(&mut buf, &mut trailing);
                        if s.get(i + 1) == Some(&b'#') {
                            return None;
                        }
                    }
                    b',' | b'+' => {
                        if ty.is_empty() {
                            return None;
                        }
                        let value = take(&mut buf, &mut trailing);
                        rdn.push(Atv {
                            ty: std::mem::take(&mut ty),
                            value,
                        });
                        if c == b',' {
                            rdns.push(std::mem::take(&mut rdn));
                        }
                    }
                    b' ' if buf.is_empty() => {}
                    _ => {
                        trailing = if c == b' ' { trailing + 1 } else { 0 };
                        buf.push(c);
                    }
                }
            }
            i += 1;
        }
        if !buf.is_empty() {
            if ty.is_empty() {
                return None;
            }
            let value = take(&mut buf, &mut trailing);
            rdn.push(Atv { ty, value });
            rdns.push(rdn);
        }
        Some(Dn { rdns })
    }

    /// go-ldap's `DN.Equal`: as many RDNs, equal position by position.
    fn equal(&self, other: &Dn) -> bool {
        self.rdns.len() == other.rdns.len()
            && self
                .rdns
                .iter()
                .zip(&other.rdns)
                .all(|(a, b)| rdn_equal(a, b))
    }

    /// go-ldap's `DN.RDNsMatch`: as many RDNs, each of ours equal to a distinct one of theirs
    /// (greedy, first unused match).
    fn rdns_match(&self, other: &Dn) -> bool {
        if self.rdns.len() != other.rdns.len() {
            return false;
        }
        let mut used = vec![false; other.rdns.len()];
        self.rdns.iter().all(|mine| {
            let found = other
                .rdns
                .iter()
                .enumerate()
                .find(|(j, theirs)| !used[*j] && rdn_equal(mine, theirs));
            found.map(|(j, _)| used[j] = true).is_some()
        })
    }
}

/// go-ldap's `RelativeDN.Equal`: as many attributes, and each side's attributes all found in the
/// other (order-free).
fn rdn_equal(a: &[Atv], b: &[Atv]) -> bool {
    let all_in = |xs: &[Atv], ys: &[Atv]| xs.iter().all(|x| ys.iter().any(|y| atv_equal(x, y)));
    a.len() == b.len() && all_in(a, b) && all_in(b, a)
}

/// go-ldap's `AttributeTypeAndValue.Equal`: types equal under Go's `strings.EqualFold`, values
/// byte-equal (case matters).
fn atv_equal(a: &Atv, b: &Atv) -> bool {
    go_equal_fold(&a.ty, &b.ty) && a.value == b.value
}

/// Go's `strings.EqualFold`, exact when one side is ASCII, which a certificate's type name always
/// is: beyond ASCII case, only U+212A KELVIN SIGN folds to `k` and U+017F LONG S to `s`. Invalid
/// UTF-8 reads as U+FFFD, as in Go.
fn go_equal_fold(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let fold = |c: char| match c {
        '\u{212A}' => 'k',
        '\u{017F}' => 's',
        c => c.to_ascii_lowercase(),
    };
    a.chars().count() == b.chars().count()
        && a.chars()
            .zip(b.chars())
            .all(|(x, y)| x == y || fold(x) == fold(y))
}

fn hex_digit(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
#[path = "identity_tests.rs"]
mod tests;
