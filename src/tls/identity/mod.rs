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
//! Parts: this file (the identity itself: SANs, fingerprints, the order above); `subject` (the
//! subject as Go reads it); `pkix` (Go's `pkix.Name` strings: how Go prints a subject); `ldap_dn`
//! (go-ldap's distinguished names: how a user name is read as a DN and compared).

mod ldap_dn;
mod pkix;
mod subject;

use ldap_dn::Dn;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subject::Subject;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

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

#[cfg(test)]
mod tests;
