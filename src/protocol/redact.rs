//! Secrets out of protocol traces: `-V` logs every client op, and a `CONNECT` carries passwords,
//! tokens and nkey signatures. nats-server writes those values as `[REDACTED]`; so does this.
//!
//! Which keys: any key starting with `pass` or `auth_token` (`pass`, `password`, ...), and the keys
//! `sig`, `nkey` and `proxy_sig` exactly — nats-server's two patterns. Keys match case-insensitively,
//! as the CONNECT decoder matches them. The scan is a small JSON tokenizer over bytes: it works on
//! the text exactly as the client sent it (no re-encoding, so the trace still shows what arrived), it
//! never fails, and on text that is not JSON it redacts what it can recognise and leaves the rest.

/// What replaces a secret value.
pub const REDACTED: &[u8] = b"[REDACTED]";

/// True for a CONNECT key whose value is a secret.
fn is_secret_key(key: &[u8]) -> bool {
    let starts = |p: &[u8]| key.len() >= p.len() && key[..p.len()].eq_ignore_ascii_case(p);
    starts(b"pass")
        || starts(b"auth_token")
        || key.eq_ignore_ascii_case(b"sig")
        || key.eq_ignore_ascii_case(b"nkey")
        || key.eq_ignore_ascii_case(b"proxy_sig")
}

/// The end (index past the closing quote, or the text's end) of the string that starts at `open`.
fn string_end(text: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

fn skip_space(text: &[u8], mut i: usize) -> usize {
    while i < text.len() && text[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// `json` with the value of every secret key replaced by `[REDACTED]` (a string keeps its quotes).
pub fn redact_connect(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        if json[i] != b'"' {
            out.push(json[i]);
            i += 1;
            continue;
        }
        let end = string_end(json, i);
        out.extend_from_slice(&json[i..end]);
        let key = &json[i + 1..end.saturating_sub(1).max(i + 1)];
        i = end;
        let colon = skip_space(json, i);
        if colon >= json.len() || json[colon] != b':' || !is_secret_key(key) {
            continue;
        }
        let value = skip_space(json, colon + 1);
        out.extend_from_slice(&json[i..value]);
        if value >= json.len() {
            i = value;
            continue;
        }
        if json[value] == b'"' {
            let vend = string_end(json, value);
            out.push(b'"');
            out.extend_from_slice(REDACTED);
            if vend > value + 1 && json[vend - 1] == b'"' {
                out.push(b'"');
            }
            i = vend;
        } else {
            // A number, `true`, `null`, or something that is not JSON: up to the next separator.
            let mut vend = value;
            while vend < json.len() && !matches!(json[vend], b',' | b'}' | b'\r' | b'\n') {
                vend += 1;
            }
            out.extend_from_slice(REDACTED);
            i = vend;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        String::from_utf8(redact_connect(s.as_bytes())).unwrap()
    }

    #[test]
    fn secrets_are_redacted_everything_else_kept() {
        assert_eq!(
            r(r#"{"verbose":false,"user":"derek","pass":"s3cr3t","name":"x"}"#),
            r#"{"verbose":false,"user":"derek","pass":"[REDACTED]","name":"x"}"#
        );
        assert_eq!(
            r(r#"{"auth_token": "tok", "sig":"abc","nkey":"UABC","jwt":"eyJ"}"#),
            r#"{"auth_token": "[REDACTED]", "sig":"[REDACTED]","nkey":"[REDACTED]","jwt":"eyJ"}"#
        );
        assert_eq!(
            r(r#"{"Password":"x","PASS":123,"proxy_sig":"p"}"#),
            r#"{"Password":"[REDACTED]","PASS":[REDACTED],"proxy_sig":"[REDACTED]"}"#
        );
    }

    #[test]
    fn lookalikes_and_values_named_like_keys_are_kept() {
        // `signature` is not `sig`; a value that reads "pass" is not a key.
        let s = r#"{"signature":"v","name":"pass","user":"sig"}"#;
        assert_eq!(r(s), s);
    }

    #[test]
    fn escapes_and_broken_text_never_leak_or_panic() {
        assert_eq!(
            r(r#"{"pass":"a\"b,c}d","x":1}"#),
            r#"{"pass":"[REDACTED]","x":1}"#
        );
        // Unterminated value: everything after the key is gone.
        assert_eq!(r(r#"{"pass":"secret"#), r#"{"pass":"[REDACTED]"#);
        assert_eq!(r(r#"{"pass": "#), r#"{"pass": "#);
        assert_eq!(r(r#"{"pass":secret}"#), r#"{"pass":[REDACTED]}"#);
        for s in [
            "",
            "\"",
            "\"\\",
            "{\"pass\"",
            "{\"pass\":",
            "\"\":\"\"",
            "\u{0}\"",
        ] {
            let _ = r(s);
        }
    }
}
