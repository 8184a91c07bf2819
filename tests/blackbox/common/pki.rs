//! Test-only certificates, made fresh for each test with rcgen: a CA, a server certificate for
//! `localhost`/127.0.0.1, client certificates with chosen subjects and SANs, a second (untrusted) CA,
//! expired certificates. PEM files are written into the test's temporary directory; rustls client
//! configurations trust the CA (and present a client certificate when asked to).
#![allow(dead_code)]

use super::server::TempDir;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::Arc;

/// A certificate authority able to sign more certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub der: CertificateDer<'static>,
    /// The CA certificate's PEM file.
    pub pem_file: PathBuf,
}

/// A signed certificate and its key, as PEM files (and DER for client use).
pub struct Issued {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Issued {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
}

/// What a client certificate says.
#[derive(Default, Clone)]
pub struct Subject {
    /// (attribute, value) in the order written, e.g. `[(DnType::CommonName, "alice")]`.
    pub dn: Vec<(DnType, String)>,
    pub emails: Vec<String>,
    pub dns: Vec<String>,
    pub uris: Vec<String>,
    /// Already expired.
    pub expired: bool,
}

impl Subject {
    pub fn cn(name: &str) -> Subject {
        Subject {
            dn: vec![(DnType::CommonName, name.to_string())],
            ..Subject::default()
        }
    }
}

impl Ca {
    pub fn new(dir: &TempDir, name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("{name} test CA"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        let pem_file = dir.write(&format!("{name}-ca.pem"), &cert.pem());
        Ca {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
            pem_file,
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self, dir: &TempDir, name: &str) -> Issued {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "localhost");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(dir, name, params, false)
    }

    /// A cluster node's certificate, valid for `names` (host names or IP addresses), for server
    /// and client authentication both (a route's two ends present the same one).
    pub fn node(&self, dir: &TempDir, name: &str, names: &[&str]) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        params.distinguished_name = dn;
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        self.sign(dir, name, params, false)
    }

    /// A client certificate saying `s`.
    pub fn client(&self, dir: &TempDir, name: &str, s: &Subject) -> Issued {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        for (t, v) in &s.dn {
            dn.push(t.clone(), v.as_str());
        }
        params.distinguished_name = dn;
        for e in &s.emails {
            params
                .subject_alt_names
                .push(SanType::Rfc822Name(e.as_str().try_into().unwrap()));
        }
        for d in &s.dns {
            params
                .subject_alt_names
                .push(SanType::DnsName(d.as_str().try_into().unwrap()));
        }
        for u in &s.uris {
            params
                .subject_alt_names
                .push(SanType::URI(u.as_str().try_into().unwrap()));
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(dir, name, params, s.expired)
    }

    fn sign(
        &self,
        dir: &TempDir,
        name: &str,
        mut params: CertificateParams,
        expired: bool,
    ) -> Issued {
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_file: dir.write(&format!("{name}-cert.pem"), &cert.pem()),
            key_file: dir.write(&format!("{name}-key.pem"), &key.serialize_pem()),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }
}

/// A CA, a server certificate signed by it, and the directory holding their files.
pub struct Pki {
    pub dir: TempDir,
    pub ca: Ca,
    pub server: Issued,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = TempDir::new();
        let ca = Ca::new(&dir, "main");
        let server = ca.server(&dir, "server");
        Pki { dir, ca, server }
    }

    /// `tls { cert_file, key_file, ca_file, <extra> }` for a server config.
    pub fn tls_block(&self, extra: &str) -> String {
        format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  ca_file: {:?}\n  {extra}\n}}\n",
            self.server.cert_file, self.server.key_file, self.ca.pem_file
        )
    }

    /// A client configuration trusting the CA, without a client certificate.
    pub fn client(&self) -> Arc<rustls::ClientConfig> {
        client_config(&self.ca.der, None)
    }

    /// A client configuration trusting the CA and presenting `cert`.
    pub fn client_with(&self, cert: &Issued) -> Arc<rustls::ClientConfig> {
        client_config(&self.ca.der, Some(cert))
    }
}

/// A rustls client trusting `root`, optionally with a client certificate (ring provider explicitly).
pub fn client_config(
    root: &CertificateDer<'static>,
    cert: Option<&Issued>,
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let cfg = match cert {
        Some(c) => b
            .with_client_auth_cert(vec![c.der.clone()], c.key())
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    Arc::new(cfg)
}

/// Lower-case hex SHA-256 of a certificate's SubjectPublicKeyInfo (what `pinned_certs` lists).
pub fn spki_sha256(der: &CertificateDer<'_>) -> String {
    use sha2::Digest;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    let digest = sha2::Sha256::digest(cert.tbs_certificate.subject_pki.raw);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
