//! The subject of a certificate as Go reads it: RDNs of typed attributes, the named `pkix.Name`
//! fields, and the strings nats-server derives (Go's `Subject.String()`, the RDN string, the DC list).

use super::ldap_dn::{Atv, Dn};
use super::pkix;
use x509_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::x509::X509Name;

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
pub(super) struct Subject {
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
    pub(super) fn read(name: &X509Name<'_>) -> Result<Subject, String> {
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
    pub(super) fn to_rdn_sequence(&self) -> pkix::RdnSequence<'_> {
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
    pub(super) fn name_string(&self) -> String {
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
    pub(super) fn dcs(&self) -> Option<String> {
        let dcs: Vec<String> = self.texts(OID_DC).map(|v| format!("DC={v}")).collect();
        (!dcs.is_empty()).then(|| dcs.join(","))
    }

    /// go-ldap's `FromRawCertSubject`: RDNs reversed, attributes inside each reversed, empty RDNs
    /// skipped, types by short name; `None` when a type has no short name in go-ldap's table or a
    /// value is not a string.
    pub(super) fn ldap_dn(&self) -> Option<Dn> {
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
