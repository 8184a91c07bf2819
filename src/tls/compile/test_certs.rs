//! Test-only certificates, generated at test time (nothing committed): a CA, a server certificate
//! for `localhost`/127.0.0.1 and a client certificate, both issued by the CA, written as PEM files
//! into a private temporary directory that is removed on drop.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};

/// A directory holding `ca.pem`, `server-cert.pem`, `server-key.pem`, `client-cert.pem`,
/// `client-key.pem`, and whatever a test writes beside them.
pub struct TestCerts {
    pub dir: PathBuf,
    /// The server certificate's DER (for pinning tests).
    pub server_der: Vec<u8>,
}

impl TestCerts {
    pub fn new() -> TestCerts {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "corenats-tls-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "corenats test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let issue = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(names).unwrap();
            p.extended_key_usages = vec![purpose];
            let cert = p.signed_by(&key, &issuer).unwrap();
            (cert, key)
        };
        let (server, server_key) = issue(
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client, client_key) = issue(
            vec!["client.example".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let t = TestCerts {
            dir,
            server_der: server.der().to_vec(),
        };
        t.write("ca.pem", &ca_cert.pem());
        t.write("server-cert.pem", &server.pem());
        t.write("server-key.pem", &server_key.serialize_pem());
        t.write("client-cert.pem", &client.pem());
        t.write("client-key.pem", &client_key.serialize_pem());
        t
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes `text` as `name` and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// A self-signed certificate for `names` with a fresh key, written as `<stem>-cert.pem` and
    /// `<stem>-key.pem`.
    pub fn self_signed(&self, stem: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let c = rcgen::generate_simple_self_signed(names).unwrap();
        (
            self.write(&format!("{stem}-cert.pem"), &c.cert.pem()),
            self.write(&format!("{stem}-key.pem"), &c.signing_key.serialize_pem()),
        )
    }
}

impl Drop for TestCerts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
