//! A leaf remote's signed login: an nkey seed (`nkey`/`seed`) or a credentials file
//! (`credentials`: a user JWT and its seed, as `nsc` writes them). Either way the hub's INFO nonce is
//! signed with the seed (Ed25519, base64 URL-safe without padding, as nats-server's leaf does), and
//! CONNECT carries the public key (`nkey`) or the JWT (`jwt`) with the signature (`sig`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// What a remote logs in with, besides the URL's user and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedLogin {
    /// A user's nkey seed (`SU…`).
    Seed(String),
    /// A user JWT and the seed that signs for it.
    Jwt { jwt: String, seed: String },
}

/// The CONNECT fields of a signed login: (`nkey`, `jwt`, `sig`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signature {
    pub nkey: Option<String>,
    pub jwt: Option<String>,
    pub sig: String,
}

/// Checks that `seed` is a user nkey seed; the error says why not.
pub fn check_seed(seed: &str) -> Result<(), String> {
    let kp =
        nkeys::KeyPair::from_seed(seed.trim()).map_err(|e| format!("invalid nkey seed: {e}"))?;
    if !kp.public_key().starts_with('U') {
        return Err("the nkey seed is not a user seed".into());
    }
    Ok(())
}

/// Reads a credentials file's text: the first `-----BEGIN … JWT-----` block and the first
/// `-----BEGIN … SEED-----` block (nats-server's `jwt.ParseDecoratedJWT`/`ParseDecoratedNKey`).
pub fn parse_creds(text: &str) -> Result<SignedLogin, String> {
    let block = |kind: &str| -> Option<String> {
        let mut lines = text.lines().map(str::trim);
        lines.find(|l| l.starts_with("-----BEGIN") && l.contains(kind))?;
        let body = lines.find(|l| !l.is_empty())?;
        (!body.starts_with("-----")).then(|| body.to_string())
    };
    let jwt = block("JWT").ok_or("no user JWT in the credentials file")?;
    let seed = block("SEED").ok_or("no nkey seed in the credentials file")?;
    check_seed(&seed)?;
    Ok(SignedLogin::Jwt { jwt, seed })
}

impl SignedLogin {
    /// Signs the hub's `nonce`.
    pub fn sign(&self, nonce: &str) -> Result<Signature, String> {
        let seed = match self {
            SignedLogin::Seed(s) | SignedLogin::Jwt { seed: s, .. } => s,
        };
        let kp = nkeys::KeyPair::from_seed(seed.trim())
            .map_err(|e| format!("invalid nkey seed: {e}"))?;
        let sig = kp
            .sign(nonce.as_bytes())
            .map_err(|e| format!("cannot sign the nonce: {e}"))?;
        let sig = URL_SAFE_NO_PAD.encode(sig);
        Ok(match self {
            SignedLogin::Seed(_) => Signature {
                nkey: Some(kp.public_key()),
                jwt: None,
                sig,
            },
            SignedLogin::Jwt { jwt, .. } => Signature {
                nkey: None,
                jwt: Some(jwt.clone()),
                sig,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_sign_the_nonce_and_creds_files_are_read() {
        let kp = nkeys::KeyPair::new_user();
        let seed = kp.seed().unwrap();
        check_seed(&seed).unwrap();
        assert!(check_seed("SXBOGUS").is_err());
        let acc = nkeys::KeyPair::new_account().seed().unwrap();
        assert_eq!(
            check_seed(&acc),
            Err("the nkey seed is not a user seed".into())
        );

        let s = SignedLogin::Seed(seed.clone()).sign("abc").unwrap();
        assert_eq!(s.nkey.as_deref(), Some(kp.public_key().as_str()));
        let raw = URL_SAFE_NO_PAD.decode(&s.sig).unwrap();
        kp.verify(b"abc", &raw).unwrap();

        let creds = format!(
            "-----BEGIN NATS USER JWT-----\neyJhbGc.payload.sig\n------END NATS USER JWT------\n\n\
************************* IMPORTANT *************************\n\n\
-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
        );
        let login = parse_creds(&creds).unwrap();
        let s = login.sign("n").unwrap();
        assert_eq!(s.jwt.as_deref(), Some("eyJhbGc.payload.sig"));
        assert_eq!(s.nkey, None);
        assert!(parse_creds("nothing here").is_err());
    }
}
