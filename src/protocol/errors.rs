//! The client-visible `-ERR` texts, in one table worded exactly as nats-server words them
//! (clients match some of them by lower-cased prefix; an unknown text makes nats.go close),
//! with which of them close the connection. Subjects inside the texts are quoted like Go's `%q`.

use std::fmt;

/// An error the server reports to a client as `-ERR '<text>'\r\n`.
///
/// The permission variants own copies of the subjects: they are rare, so the allocation does
/// not matter, and it frees them from the read buffer's lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoErr {
    UnknownOp,
    AuthViolation,
    AuthTimeout,
    MaxPayload,
    MaxControlLine,
    MaxConnections,
    MaxAccountConnections,
    MaxSubscriptions,
    InvalidClientProtocol,
    NoRespondersRequiresHeaders,
    StaleConnection,
    /// TLS handshake did not complete within the TLS timeout (nats-server queues it, but closes the
    /// connection before it is written: no client ever reads it).
    TlsRequired,
    /// `tls { connection_rate_limit }` refused a new connection (sent in clear text, before TLS).
    TlsThrottled,
    InvalidSubject,
    InvalidPublishSubject,
    /// Publish denied: the subject.
    PubViolation(Vec<u8>),
    /// Publish with a reserved or denied reply subject: the reply.
    PubReplyViolation(Vec<u8>),
    /// Subscribe denied.
    SubViolation {
        subject: Vec<u8>,
        queue: Option<Vec<u8>>,
    },
    /// An existing subscription revoked by a config reload.
    SubRevoked {
        subject: Vec<u8>,
        queue: Option<Vec<u8>>,
        sid: Vec<u8>,
    },
    /// Subscribe subject with more tokens than `max_sub_tokens`.
    SubTooManyTokens(Vec<u8>),
}

impl ProtoErr {
    /// THE table: the fixed text (for the permission errors, the text before the quoted
    /// subject) and whether the server closes the connection after sending it.
    fn entry(&self) -> (&'static str, bool) {
        use ProtoErr::*;
        match self {
            UnknownOp => ("Unknown Protocol Operation", true),
            AuthViolation => ("Authorization Violation", true),
            AuthTimeout => ("Authentication Timeout", true),
            MaxPayload => ("Maximum Payload Violation", true),
            MaxControlLine => ("maximum control line exceeded", true),
            MaxConnections => ("maximum connections exceeded", true),
            MaxAccountConnections => ("maximum account active connections exceeded", true),
            MaxSubscriptions => ("maximum subscriptions exceeded", false),
            InvalidClientProtocol => ("invalid client protocol", true),
            NoRespondersRequiresHeaders => ("no responders requires headers support", true),
            StaleConnection => ("Stale Connection", true),
            TlsRequired => ("Secure Connection - TLS Required", true),
            TlsThrottled => (
                "Connection throttling is active. Please try again later.",
                true,
            ),
            InvalidSubject => ("Invalid Subject", false),
            InvalidPublishSubject => ("Invalid Publish Subject", false),
            PubViolation(_) => ("Permissions Violation for Publish to ", false),
            PubReplyViolation(_) => ("Permissions Violation for Publish with Reply of ", false),
            SubViolation { .. } | SubRevoked { .. } | SubTooManyTokens(_) => {
                ("Permissions Violation for Subscription to ", false)
            }
        }
    }

    /// True when the server closes the connection after sending this error.
    pub fn closes(&self) -> bool {
        self.entry().1
    }

    /// Appends the text (without `-ERR '...'`).
    pub fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.entry().0.as_bytes());
        match self {
            ProtoErr::PubViolation(s) | ProtoErr::PubReplyViolation(s) => go_quote(s, out),
            ProtoErr::SubViolation { subject, queue } => {
                go_quote(subject, out);
                if let Some(q) = queue {
                    out.extend_from_slice(b" using queue ");
                    go_quote(q, out);
                }
            }
            ProtoErr::SubRevoked {
                subject,
                queue,
                sid,
            } => {
                go_quote(subject, out);
                if let Some(q) = queue {
                    out.extend_from_slice(b" using queue ");
                    go_quote(q, out);
                }
                out.extend_from_slice(b" (sid ");
                go_quote(sid, out);
                out.push(b')');
            }
            ProtoErr::SubTooManyTokens(s) => {
                go_quote(s, out);
                out.extend_from_slice(b", too many tokens");
            }
            _ => {}
        }
    }

    /// Appends the whole wire frame `-ERR '<text>'\r\n`.
    pub fn write_frame(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR '");
        self.write_text(out);
        out.extend_from_slice(b"'\r\n");
    }
}

impl fmt::Display for ProtoErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut v = Vec::new();
        self.write_text(&mut v);
        f.write_str(&String::from_utf8_lossy(&v))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` quoted as Go's `%q` / `strconv.Quote` does: double quotes; `"` and `\`
/// escaped; `\a \b \f \n \r \t \v`; other ASCII controls and every byte of invalid UTF-8 as
/// `\xNN`; non-printable characters as `\uNNNN` / `\UNNNNNNNN`; printable UTF-8 kept as is.
///
/// "Printable" follows Go's `unicode.IsPrint` for controls, separators, format characters,
/// private use and noncharacters; unassigned code points (which Go also escapes) are kept,
/// as std has no Unicode category table.
pub fn go_quote(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            quote_char(c, out);
        }
        for &byte in chunk.invalid() {
            out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
        }
    }
    out.push(b'"');
}

fn quote_char(c: char, out: &mut Vec<u8>) {
    let esc: &[u8] = match c {
        '"' => b"\\\"",
        '\\' => b"\\\\",
        '\x07' => b"\\a",
        '\x08' => b"\\b",
        '\x0c' => b"\\f",
        '\n' => b"\\n",
        '\r' => b"\\r",
        '\t' => b"\\t",
        '\x0b' => b"\\v",
        _ => b"",
    };
    if !esc.is_empty() {
        out.extend_from_slice(esc);
        return;
    }
    let cp = u32::from(c);
    if cp < 0x20 || cp == 0x7f {
        out.extend_from_slice(&[
            b'\\',
            b'x',
            HEX[(cp >> 4) as usize],
            HEX[(cp & 0xf) as usize],
        ]);
    } else if is_go_print(c) {
        let mut tmp = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    } else if cp < 0x10000 {
        out.extend_from_slice(b"\\u");
        push_hex(cp, 4, out);
    } else {
        out.extend_from_slice(b"\\U");
        push_hex(cp, 8, out);
    }
}

fn push_hex(v: u32, digits: u32, out: &mut Vec<u8>) {
    for k in (0..digits).rev() {
        out.push(HEX[((v >> (4 * k)) & 0xf) as usize]);
    }
}

/// Go's `unicode.IsPrint` (letters, marks, numbers, punctuation, symbols and U+0020), minus
/// the unassigned code points, which need tables std does not have.
fn is_go_print(c: char) -> bool {
    let cp = u32::from(c);
    if cp < 0x80 {
        return (0x20..0x7f).contains(&cp);
    }
    if c.is_control() {
        return false; // Cc (U+0080..U+009F)
    }
    let not_print = matches!(cp,
        // Zs, Zl, Zp other than U+0020
        0x00A0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000
        // Cf (format)
        | 0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x0890..=0x0891 | 0x08E2
        | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        // Co (private use)
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD
        // noncharacters (Cn)
        | 0xFDD0..=0xFDEF
    );
    !not_print && (cp & 0xFFFE) != 0xFFFE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &[u8]) -> String {
        let mut v = Vec::new();
        go_quote(s, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn go_quote_matches_go() {
        // Expected values are what Go's fmt.Sprintf("%q", []byte(...)) prints.
        let table: &[(&[u8], &str)] = &[
            (b"svc.b.x", r#""svc.b.x""#),
            (b"", r#""""#),
            (b"a\"b", r#""a\"b""#),
            (b"a\\b", r#""a\\b""#),
            (b"a\nb\tc\r", r#""a\nb\tc\r""#),
            (b"\x07\x08\x0c\x0b", r#""\a\b\f\v""#),
            (b"\x00\x01\x1f\x7f", r#""\x00\x01\x1f\x7f""#),
            (b"\xff\xfe", r#""\xff\xfe""#),
            (b"a\xe2\x82b", r#""a\xe2\x82b""#),
            (b"\xed\xa0\x80", r#""\xed\xa0\x80""#),
            ("héllo.wörld".as_bytes(), "\"héllo.wörld\""),
            ("日本.*".as_bytes(), "\"日本.*\""),
            ("😀".as_bytes(), "\"😀\""),
            ("\u{a0}".as_bytes(), r#""\u00a0""#),
            ("\u{85}".as_bytes(), r#""\u0085""#),
            ("\u{200b}".as_bytes(), r#""\u200b""#),
            ("\u{feff}".as_bytes(), r#""\ufeff""#),
            ("\u{2028}".as_bytes(), r#""\u2028""#),
            ("\u{e000}".as_bytes(), r#""\ue000""#),
            ("\u{fffe}".as_bytes(), r#""\ufffe""#),
            ("\u{fffd}".as_bytes(), "\"\u{fffd}\""),
            ("\u{e0001}".as_bytes(), r#""\U000e0001""#),
            ("\u{10fffd}".as_bytes(), r#""\U0010fffd""#),
            (b"_R_.abc.def", r#""_R_.abc.def""#),
        ];
        for (input, want) in table {
            assert_eq!(q(input), *want, "input {input:?}");
        }
    }

    fn frame(e: &ProtoErr) -> String {
        let mut v = Vec::new();
        e.write_frame(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn fixed_texts_and_close_flags() {
        use ProtoErr::*;
        let table: &[(ProtoErr, &str, bool)] = &[
            (UnknownOp, "Unknown Protocol Operation", true),
            (AuthViolation, "Authorization Violation", true),
            (AuthTimeout, "Authentication Timeout", true),
            (MaxPayload, "Maximum Payload Violation", true),
            (MaxControlLine, "maximum control line exceeded", true),
            (MaxConnections, "maximum connections exceeded", true),
            (
                MaxAccountConnections,
                "maximum account active connections exceeded",
                true,
            ),
            (MaxSubscriptions, "maximum subscriptions exceeded", false),
            (InvalidClientProtocol, "invalid client protocol", true),
            (
                NoRespondersRequiresHeaders,
                "no responders requires headers support",
                true,
            ),
            (StaleConnection, "Stale Connection", true),
            (TlsRequired, "Secure Connection - TLS Required", true),
            (
                TlsThrottled,
                "Connection throttling is active. Please try again later.",
                true,
            ),
            (InvalidSubject, "Invalid Subject", false),
            (InvalidPublishSubject, "Invalid Publish Subject", false),
        ];
        for (e, text, closes) in table {
            assert_eq!(frame(e), format!("-ERR '{text}'\r\n"));
            assert_eq!(e.closes(), *closes, "{text}");
            assert_eq!(e.to_string(), *text);
        }
    }

    #[test]
    fn permission_texts() {
        let v = |s: &str| s.as_bytes().to_vec();
        let cases = [
            (
                ProtoErr::PubViolation(v("svc.b.x")),
                "-ERR 'Permissions Violation for Publish to \"svc.b.x\"'\r\n",
            ),
            (
                ProtoErr::PubReplyViolation(v("_R_.abc.def")),
                "-ERR 'Permissions Violation for Publish with Reply of \"_R_.abc.def\"'\r\n",
            ),
            (
                ProtoErr::SubViolation {
                    subject: v("qq.x"),
                    queue: None,
                },
                "-ERR 'Permissions Violation for Subscription to \"qq.x\"'\r\n",
            ),
            (
                ProtoErr::SubViolation {
                    subject: v("qq.x"),
                    queue: Some(v("grp2")),
                },
                "-ERR 'Permissions Violation for Subscription to \"qq.x\" using queue \"grp2\"'\r\n",
            ),
            (
                ProtoErr::SubRevoked {
                    subject: v("x"),
                    queue: None,
                    sid: v("1"),
                },
                "-ERR 'Permissions Violation for Subscription to \"x\" (sid \"1\")'\r\n",
            ),
            (
                ProtoErr::SubRevoked {
                    subject: v("x"),
                    queue: Some(v("q")),
                    sid: v("1"),
                },
                "-ERR 'Permissions Violation for Subscription to \"x\" using queue \"q\" (sid \"1\")'\r\n",
            ),
            (
                ProtoErr::SubTooManyTokens(v("a.b.c")),
                "-ERR 'Permissions Violation for Subscription to \"a.b.c\", too many tokens'\r\n",
            ),
            (
                ProtoErr::PubViolation(b"bad\n\xff".to_vec()),
                "-ERR 'Permissions Violation for Publish to \"bad\\n\\xff\"'\r\n",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(frame(&e), want);
            assert!(!e.closes());
        }
    }
}
