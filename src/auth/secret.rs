//! Stored secrets and how a presented credential is checked against them: plain passwords and tokens
//! (constant-time comparison), bcrypt hashes, and nkey signatures over the connection's nonce.
//!
//! Bcrypt is deliberately slow (tens of milliseconds at cost 10-11). The engine never runs it on a shard:
//! [`Secret::verify_fast`] answers for every other kind, and a login that needs bcrypt goes to the
//! shard's blocking thread (`shard/logins.rs`).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;

/// A configured password or token.
pub(crate) enum Secret {
    /// Plain text, compared in constant time.
    Plain(Box<[u8]>),
    /// A bcrypt hash (`$2a$`, `$2b$`, `$2x$`, `$2y$` followed by a two-digit cost and `$`).
    Bcrypt(Box<str>),
}

impl Secret {
    /// Classifies a configured value as nats-server does (`^\$2[abxy]\$\d{2}\$.*` means bcrypt).
    pub(crate) fn new(configured: &str) -> Secret {
        if is_bcrypt(configured) {
            Secret::Bcrypt(configured.into())
        } else {
            Secret::Plain(configured.as_bytes().into())
        }
    }

    /// True if `given` matches. Plain: constant-time compare. Bcrypt: a (slow) hash of `given`.
    pub(crate) fn verify(&self, given: &[u8]) -> bool {
        match self {
            Secret::Plain(s) => ct_eq(s, given),
            Secret::Bcrypt(h) => bcrypt::verify(given, h).unwrap_or(false),
        }
    }

    /// [`Secret::verify`] when it is cheap: `None` for a bcrypt hash (tens of milliseconds; the
    /// engine runs those off the shard).
    pub(crate) fn verify_fast(&self, given: &[u8]) -> Option<bool> {
        match self {
            Secret::Plain(s) => Some(ct_eq(s, given)),
            Secret::Bcrypt(_) => None,
        }
    }

    /// True for a plain-text value (nats-server warns about those).
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self, Secret::Plain(_))
    }
}

/// True if `s` looks like a bcrypt hash: `$2` + one of `abxy` + `$` + two digits + `$`.
pub(crate) fn is_bcrypt(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 7
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'x' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
}

#[cfg(test)]
thread_local! {
    /// Counts calls of `ct_eq`, so tests can prove plain secrets go through it.
    pub(crate) static CT_EQ_CALLS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Constant-time equality of a configured secret and a presented value. The running time depends only on
/// the configured secret's length, never on where the first difference is or on the presented length.
pub(crate) fn ct_eq(secret: &[u8], given: &[u8]) -> bool {
    #[cfg(test)]
    CT_EQ_CALLS.with(|c| c.set(c.get() + 1));
    let mut diff: usize = secret.len() ^ given.len();
    for (i, s) in secret.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        diff |= usize::from(s ^ g);
    }
    std::hint::black_box(diff) == 0
}

/// Verifies an nkey login: `sig` is the ed25519 signature of the nonce's ASCII bytes, base64url without
/// padding (standard padded base64 accepted as a fallback, as nats-server does).
pub(crate) fn verify_nkey(key: &nkeys::KeyPair, nonce: &[u8], sig: &str) -> bool {
    let raw = match URL_SAFE_NO_PAD.decode(sig) {
        Ok(r) => r,
        Err(_) => match STANDARD.decode(sig) {
            Ok(r) => r,
            Err(_) => return false,
        },
    };
    key.verify(nonce, &raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_detection() {
        assert!(is_bcrypt(
            "$2a$11$9iBIupLqeXYRfx8SWy5l4ObMLjua8c4hSpvFIfLRRWy8Vjj8PSzIi"
        ));
        assert!(is_bcrypt("$2b$04$x"));
        assert!(is_bcrypt("$2x$10$x"));
        assert!(is_bcrypt("$2y$10$x"));
        assert!(!is_bcrypt("$2c$10$x"));
        assert!(!is_bcrypt("$2a$1$x"));
        assert!(!is_bcrypt("2a$10$x"));
        assert!(!is_bcrypt("password"));
    }

    #[test]
    fn constant_time_eq_results() {
        assert!(ct_eq(b"secret", b"secret"));
        assert!(!ct_eq(b"secret", b"secreT"));
        assert!(!ct_eq(b"secret", b"secret "));
        assert!(!ct_eq(b"secret", b"secre"));
        assert!(!ct_eq(b"secret", b""));
        assert!(ct_eq(b"", b""));
        assert!(!ct_eq(b"", b"x"));
        // A presented value that equals the secret plus NULs must not match.
        assert!(!ct_eq(b"ab", b"ab\0"));
    }

    #[test]
    fn plain_secret_uses_constant_time_compare() {
        let s = Secret::new("pw");
        assert!(s.is_plain());
        let before = CT_EQ_CALLS.with(|c| c.get());
        assert!(s.verify(b"pw"));
        assert!(!s.verify(b"px"));
        assert_eq!(CT_EQ_CALLS.with(|c| c.get()), before + 2);
    }

    #[test]
    fn bcrypt_secret() {
        let h = bcrypt::hash("pa", 4).unwrap();
        for v in ["2a", "2b", "2x", "2y"] {
            let h = format!("${v}{}", &h[3..]);
            let s = Secret::new(&h);
            assert!(!s.is_plain());
            assert!(s.verify(b"pa"), "{v}");
            assert!(!s.verify(b"pb"), "{v}");
        }
    }

    #[test]
    fn nkey_signature() {
        let kp = nkeys::KeyPair::new_user();
        let public = nkeys::KeyPair::from_public_key(&kp.public_key()).unwrap();
        let nonce = b"abcdefghijk";
        let sig = kp.sign(nonce).unwrap();
        assert!(verify_nkey(&public, nonce, &URL_SAFE_NO_PAD.encode(&sig)));
        assert!(verify_nkey(&public, nonce, &STANDARD.encode(&sig)));
        assert!(!verify_nkey(
            &public,
            b"other-nonce",
            &URL_SAFE_NO_PAD.encode(&sig)
        ));
        assert!(!verify_nkey(&public, nonce, "not base64 !!"));
        assert!(!verify_nkey(&public, nonce, ""));
    }
}
