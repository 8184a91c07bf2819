//! Go's `crypto/x509/pkix` strings: how Go prints an RDN sequence (short names, RFC 4514 escaping,
//! most specific RDN first).

/// An RDN sequence in ASN.1 order; each attribute as `(dotted OID, value)`.
pub(crate) type RdnSequence<'a> = Vec<Vec<(&'a str, Printed<'a>)>>;

/// An attribute value to print.
#[derive(Clone, Copy)]
pub(crate) enum Printed<'a> {
    /// A string: printed escaped.
    Text(&'a str),
    /// Any other value, as its DER element: printed as `#` + hex.
    Der(&'a [u8]),
}

/// Go's `attributeTypeNames` in `crypto/x509/pkix`.
pub(crate) fn short_name(oid: &str) -> Option<&'static str> {
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
pub(crate) fn rdn_sequence_string(seq: &RdnSequence<'_>) -> String {
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
