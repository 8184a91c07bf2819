//! What a peer certificate says, for `verify_and_map`, `pinned_certs` and `/connz`. Pure.

// Temporary stand-in until the identity module lands (replaced by the full implementation).
#[derive(Debug)]
pub struct PeerIdentity {
    spki: [u8; 32],
}

impl PeerIdentity {
    pub fn from_der(der: &[u8]) -> Result<PeerIdentity, String> {
        let _ = der;
        Err("not implemented".into())
    }
    pub fn map_user<'a>(&self, users: &[&'a str]) -> Option<&'a str> {
        let _ = users;
        None
    }
    pub fn spki_sha256(&self) -> [u8; 32] {
        self.spki
    }
    pub fn connz(&self) -> PeerCertInfo {
        PeerCertInfo::default()
    }
}

#[derive(serde::Serialize, Debug, Clone, PartialEq, Default)]
pub struct PeerCertInfo {
    pub subject: String,
    pub subject_pk_sha256: String,
    pub cert_sha256: String,
}
