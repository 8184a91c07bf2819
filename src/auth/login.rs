//! Authentication: CONNECT credentials → [`Login`] ([`Auth::authenticate`]), including corenats' colon rule,
//! and the re-check of live connections after a reload ([`Auth::recheck`]), as nats-server decides them.
//!
//! Order of checks (as nats-server): no credentials at all → `no_auth_user` (or the hidden `$G` user); an
//! nkey, when nkey users exist; a user name, when users exist; a token, when one is configured. Every
//! failure is the same opaque [`AuthFailure`]: the engine always answers `-ERR 'Authorization Violation'`.
//!
//! Cost: a bcrypt check takes tens of milliseconds; everything else (plain secrets, nkey signatures)
//! microseconds. [`Auth::authenticate_fast`] and [`Auth::recheck_fast`] never run bcrypt: they say when
//! it is needed, and the engine runs [`Auth::authenticate`] / [`Auth::recheck`] for those off the
//! shard. Re-checks after a reload skip any check when the stored secret is unchanged.

use std::fmt;
use std::sync::Arc;

use super::compile::{Auth, User, UserCredential, UserIdx};
use super::permissions::Permissions;
use super::secret::{ct_eq, verify_nkey, Secret};
use super::{AccountId, GLOBAL_ACCOUNT};
use crate::tls::identity::PeerIdentity;

/// The credential fields of a CONNECT. Empty strings count as absent (JSON `null` and `""` alike).
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `user`.
    pub user: Option<&'a str>,
    /// `pass`.
    pub pass: Option<&'a str>,
    /// `auth_token`.
    pub token: Option<&'a str>,
    /// `nkey`: the public user nkey.
    pub nkey: Option<&'a str>,
    /// `sig`: signature of the INFO nonce.
    pub sig: Option<&'a str>,
    /// The client's verified certificate, when the port maps users from certificates
    /// (`tls { verify_and_map }`): it names the user, and CONNECT's user name is not used.
    pub cert: Option<&'a PeerIdentity>,
}

impl<'a> Credentials<'a> {
    fn field(v: Option<&'a str>) -> Option<&'a str> {
        v.filter(|s| !s.is_empty())
    }

    /// True if no user, password, token, nkey or mapped certificate was given.
    pub fn is_empty(&self) -> bool {
        self.cert.is_none()
            && Self::field(self.user).is_none()
            && Self::field(self.pass).is_none()
            && Self::field(self.token).is_none()
            && Self::field(self.nkey).is_none()
    }
}

/// Who a login is, independent of any compiled `Auth` (so a reload can find it again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No authentication configured, or the hidden `$G` user.
    Anonymous,
    /// `authorization { token }`.
    Token,
    /// A password user (also the single `authorization { user }`), by name.
    User(Arc<str>),
    /// An nkey user, by public key.
    Nkey(Arc<str>),
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    /// The account the connection belongs to.
    pub account: AccountId,
    /// Index into `Auth::users` of the `Auth` that produced this login (`None` for anonymous/token).
    pub user: Option<UserIdx>,
    /// Who logged in.
    pub principal: Principal,
    /// `<account>/user:<name>` (or `/nkey:`, `/token`, or just the account) for log lines.
    pub label: String,
    /// The user's permissions; `None` = full access within the account.
    pub permissions: Option<Arc<Permissions>>,
    /// Fingerprint of the secret this login was checked against (see `recheck`).
    fingerprint: u64,
}

/// A failed login. Deliberately carries nothing: the client must not learn what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthFailure;

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorization Violation")
    }
}

impl std::error::Error for AuthFailure {}

/// What to do with a live connection after a reload.
#[derive(Debug, Clone)]
pub enum Recheck {
    /// Still valid; switch to this login (account id, permissions may have changed).
    Keep(Login),
    /// Its user no longer exists: close silently (no `-ERR`).
    Removed,
    /// Its credentials no longer pass: send `-ERR 'Authorization Violation'` and close.
    CredentialsChanged,
}

/// Why [`Auth::authenticate_fast`] gave no login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastDeny {
    /// The credentials are wrong.
    Failed,
    /// Deciding needs a bcrypt check: run [`Auth::authenticate`] off the shard.
    NeedsBcrypt,
}

impl From<AuthFailure> for FastDeny {
    fn from(_: AuthFailure) -> FastDeny {
        FastDeny::Failed
    }
}

impl Auth {
    /// Authenticates CONNECT credentials. `nonce` is the one sent in this connection's INFO (required for
    /// nkey logins). May run bcrypt (slow); see the module doc.
    pub fn authenticate(
        &self,
        c: &Credentials<'_>,
        nonce: Option<&[u8]>,
    ) -> Result<Login, AuthFailure> {
        self.authenticate_with(c, nonce, true)
            .map_err(|_| AuthFailure)
    }

    /// [`Auth::authenticate`] without bcrypt: decides every login that needs no bcrypt check (plain
    /// passwords and tokens, nkeys, anonymous) and says `NeedsBcrypt` for the rest. Cheap enough for
    /// the shard.
    pub fn authenticate_fast(
        &self,
        c: &Credentials<'_>,
        nonce: Option<&[u8]>,
    ) -> Result<Login, FastDeny> {
        self.authenticate_with(c, nonce, false)
    }

    fn authenticate_with(
        &self,
        c: &Credentials<'_>,
        nonce: Option<&[u8]>,
        bcrypt: bool,
    ) -> Result<Login, FastDeny> {
        if !self.has_credentials() {
            return Ok(self.anonymous());
        }
        if c.is_empty() {
            if let Some(i) = self.no_auth_user {
                return Ok(self.login_user(i)?);
            }
            if self.anonymous_global {
                return Ok(self.anonymous());
            }
            return Err(FastDeny::Failed);
        }
        if let Some(key) = Credentials::field(c.nkey) {
            if self.needs_nonce() {
                let (i, u) = self.user_by_nkey(key).ok_or(FastDeny::Failed)?;
                let (UserCredential::Nkey(kp), Some(nonce), Some(sig)) =
                    (&u.credential, nonce, c.sig)
                else {
                    return Err(FastDeny::Failed);
                };
                if !verify_nkey(kp, nonce, sig) {
                    return Err(FastDeny::Failed);
                }
                return Ok(self.login_user(i)?);
            }
        }
        if let Some(cert) = c.cert {
            if self.by_name_is_empty() {
                return self.token_or_fail(c, bcrypt);
            }
            // nats-server: the certificate names the user; a password the user has must match too.
            let i = self.cert_user(cert).ok_or(FastDeny::Failed)?;
            return match self.check_password_of(i, c.pass.unwrap_or(""), bcrypt)? {
                true => Ok(self.login_user(i)?),
                false => Err(FastDeny::Failed),
            };
        }
        if let Some(name) = Credentials::field(c.user) {
            if !self.users.is_empty() {
                let pass = c.pass.unwrap_or("");
                if let Some(i) = self.check_password(name, pass, bcrypt)? {
                    return Ok(self.login_user(i)?);
                }
                return match self.colon_rule(name, c.pass, bcrypt)? {
                    Some(i) => Ok(self.login_user(i)?),
                    None => Err(FastDeny::Failed),
                };
            }
        }
        if let Some(t) = &self.token {
            if verify(t, c.token.unwrap_or("").as_bytes(), bcrypt)? {
                return Ok(self.token_login());
            }
        }
        Err(FastDeny::Failed)
    }

    /// Re-checks a live connection against this (new) `Auth` after a reload. `login` came from the previous
    /// `Auth`; `creds` and `nonce` are what the connection presented. Unchanged secrets are not re-verified
    /// (no bcrypt storm on reload). May run bcrypt when a secret changed.
    pub fn recheck(&self, login: &Login, creds: &Credentials<'_>, nonce: Option<&[u8]>) -> Recheck {
        match self.recheck_with(login, creds, nonce, true) {
            Some(r) => r,
            None => Recheck::CredentialsChanged,
        }
    }

    /// [`Auth::recheck`] without bcrypt: `None` when deciding needs a bcrypt check (a changed bcrypt
    /// secret); run [`Auth::recheck`] off the shard then.
    pub fn recheck_fast(
        &self,
        login: &Login,
        creds: &Credentials<'_>,
        nonce: Option<&[u8]>,
    ) -> Option<Recheck> {
        self.recheck_with(login, creds, nonce, false)
    }

    fn recheck_with(
        &self,
        login: &Login,
        creds: &Credentials<'_>,
        nonce: Option<&[u8]>,
        bcrypt: bool,
    ) -> Option<Recheck> {
        let found = match &login.principal {
            Principal::User(n) => self.user_by_name(n),
            Principal::Nkey(k) => self.user_by_nkey(k),
            Principal::Anonymous | Principal::Token => None,
        };
        match found {
            Some((i, u)) if !creds.is_empty() && u.fingerprint == login.fingerprint => {
                return Some(match self.login_user(i) {
                    Ok(l) => Recheck::Keep(l),
                    Err(_) => Recheck::CredentialsChanged,
                });
            }
            // The user is gone: its connection goes too, even when the new configuration would
            // let the same client in another way (no auth at all, a no_auth_user).
            None if matches!(login.principal, Principal::User(_) | Principal::Nkey(_)) => {
                return Some(Recheck::Removed);
            }
            _ => {}
        }
        // The same token as before: no need to verify it again (it may be a bcrypt hash).
        if login.principal == Principal::Token
            && self.token.is_some()
            && self.token_fingerprint == login.fingerprint
            && Credentials::field(creds.token).is_some()
        {
            return Some(Recheck::Keep(self.token_login()));
        }
        match self.authenticate_with(creds, nonce, bcrypt) {
            Ok(l) => Some(Recheck::Keep(l)),
            Err(FastDeny::NeedsBcrypt) => None,
            Err(FastDeny::Failed) => Some(match (&login.principal, found) {
                (Principal::User(_) | Principal::Nkey(_), None) => Recheck::Removed,
                _ => Recheck::CredentialsChanged,
            }),
        }
    }

    /// The token check that ends every path that found no user.
    fn token_or_fail(&self, c: &Credentials<'_>, bcrypt: bool) -> Result<Login, FastDeny> {
        if let Some(t) = &self.token {
            if verify(t, c.token.unwrap_or("").as_bytes(), bcrypt)? {
                return Ok(self.token_login());
            }
        }
        Err(FastDeny::Failed)
    }

    /// `verify_and_map`: the password user a client certificate names (nats-server's order: SAN
    /// emails, DNS names, URIs, then the subject DN), among users allowed on a client connection.
    fn cert_user(&self, cert: &PeerIdentity) -> Option<UserIdx> {
        let names: Vec<&str> = self
            .users
            .iter()
            .filter(|u| matches!(u.credential, UserCredential::Password(_)) && u.allow_standard)
            .map(|u| &*u.name)
            .collect();
        let name = cert.map_user(&names)?;
        self.user_by_name(name).map(|(i, _)| i)
    }

    /// No password users at all (a certificate then names nobody).
    fn by_name_is_empty(&self) -> bool {
        !self
            .users
            .iter()
            .any(|u| matches!(u.credential, UserCredential::Password(_)))
    }

    /// Whether `pass` is user `i`'s password (an empty one when it has none).
    fn check_password_of(&self, i: UserIdx, pass: &str, bcrypt: bool) -> Result<bool, FastDeny> {
        match self.users.get(i as usize).map(|u| &u.credential) {
            Some(UserCredential::Password(s)) => verify(s, pass.as_bytes(), bcrypt),
            _ => Ok(false),
        }
    }

    /// Index of the user `name` if `pass` is its password (`Err(NeedsBcrypt)` when that takes bcrypt
    /// and `bcrypt` is false).
    fn check_password(
        &self,
        name: &str,
        pass: &str,
        bcrypt: bool,
    ) -> Result<Option<UserIdx>, FastDeny> {
        let Some((i, u)) = self.user_by_name(name) else {
            return Ok(None);
        };
        match &u.credential {
            UserCredential::Password(s) if verify(s, pass.as_bytes(), bcrypt)? => Ok(Some(i)),
            _ => Ok(None),
        }
    }

    /// The colon rule (corenats extension, docs/FOUNDING-EXAMPLE.md): URL user-info splits at the FIRST `:`, so a
    /// configured user named `user:a` arrives as user `user` + password `a:password-a`. When the standard
    /// split failed and some configured name contains `:`, re-join `user:pass` and try each later `:` as the
    /// split point. The credential must match one configured user completely.
    fn colon_rule(
        &self,
        user: &str,
        pass: Option<&str>,
        bcrypt: bool,
    ) -> Result<Option<UserIdx>, FastDeny> {
        if !self.colon_names {
            return Ok(None);
        }
        let Some(pass) = pass else {
            return Ok(None);
        };
        let joined = format!("{user}:{pass}");
        let mut from = user.len() + 1;
        while let Some(off) = joined.get(from..).and_then(|rest| rest.find(':')) {
            let at = from + off;
            let (name, rest) = joined.split_at(at);
            if let Some(i) = self.check_password(name, rest.get(1..).unwrap_or(""), bcrypt)? {
                return Ok(Some(i));
            }
            from = at + 1;
        }
        Ok(None)
    }

    fn login_user(&self, i: UserIdx) -> Result<Login, AuthFailure> {
        let u: &User = self.users.get(i as usize).ok_or(AuthFailure)?;
        if !u.allow_standard {
            return Err(AuthFailure);
        }
        let acc = self.accounts.get(u.account as usize).ok_or(AuthFailure)?;
        let (principal, kind) = match u.credential {
            UserCredential::Password(_) => (Principal::User(u.name.clone()), "user"),
            UserCredential::Nkey(_) => (Principal::Nkey(u.name.clone()), "nkey"),
        };
        Ok(Login {
            account: u.account,
            user: Some(i),
            principal,
            label: format!("{}/{kind}:{}", acc.name, u.name),
            permissions: u.permissions.clone(),
            fingerprint: u.fingerprint,
        })
    }

    fn anonymous(&self) -> Login {
        Login {
            account: GLOBAL_ACCOUNT,
            user: None,
            principal: Principal::Anonymous,
            label: super::GLOBAL_ACCOUNT_NAME.to_string(),
            permissions: None,
            fingerprint: 0,
        }
    }

    fn token_login(&self) -> Login {
        Login {
            account: GLOBAL_ACCOUNT,
            user: None,
            principal: Principal::Token,
            label: format!("{}/token", super::GLOBAL_ACCOUNT_NAME),
            permissions: None,
            fingerprint: self.token_fingerprint,
        }
    }
}

/// Checks `given` against a configured secret; without `bcrypt`, a bcrypt hash is `NeedsBcrypt`.
fn verify(secret: &Secret, given: &[u8], bcrypt: bool) -> Result<bool, FastDeny> {
    match secret.verify_fast(given) {
        Some(ok) => Ok(ok),
        None if bcrypt => Ok(secret.verify(given)),
        None => Err(FastDeny::NeedsBcrypt),
    }
}

/// Constant-time comparison, re-exported for the engine's own secret checks (e.g. monitoring auth).
pub fn constant_time_eq(secret: &[u8], given: &[u8]) -> bool {
    ct_eq(secret, given)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::config::{AuthorizationSpec, Config};
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;

    fn creds<'a>(user: &'a str, pass: &'a str) -> Credentials<'a> {
        Credentials {
            user: Some(user),
            pass: Some(pass),
            ..Default::default()
        }
    }

    /// The seed example, as corenats reads it: accounts `account:a`/`account:b`, users `user:a`/`user:b`.
    fn seed() -> Config {
        let mut c = config();
        let mut ua = user("user:a", "password-a");
        ua.permissions = Some(perms_spec(&["service.a.>"], &["service.a.>"]));
        let mut ub = user("user:b", "password-b");
        ub.permissions = Some(perms_spec(&["service.b.>"], &["service.b.>"]));
        c.accounts = vec![
            account("account:a", vec![ua]),
            account("account:b", vec![ub]),
        ];
        c
    }

    #[test]
    fn no_auth_configured_is_anonymous() {
        let a = Auth::compile(&config(), None).unwrap();
        let l = a.authenticate(&creds("x", "y"), None).unwrap();
        assert_eq!(l.account, GLOBAL_ACCOUNT);
        assert_eq!(l.principal, Principal::Anonymous);
        assert!(l.permissions.is_none());
        assert_eq!(l.label, "$G");
    }

    #[test]
    fn user_password() {
        let a = Auth::compile(&seed(), None).unwrap();
        let l = a
            .authenticate(&creds("user:a", "password-a"), None)
            .unwrap();
        assert_eq!(Some(l.account), a.account_id("account:a"));
        assert_eq!(l.label, "account:a/user:user:a");
        assert!(l.permissions.as_ref().unwrap().can_publish(b"service.a.x"));
        assert!(!l.permissions.as_ref().unwrap().can_publish(b"service.b.x"));
        assert_eq!(
            a.authenticate(&creds("user:a", "password-b"), None)
                .unwrap_err(),
            AuthFailure
        );
        assert!(a
            .authenticate(&creds("nobody", "password-a"), None)
            .is_err());
        assert!(a.authenticate(&Credentials::default(), None).is_err());
        assert!(a.authenticate(&creds("user:a", ""), None).is_err());
        assert_eq!(AuthFailure.to_string(), "Authorization Violation");
    }

    #[test]
    fn plain_passwords_use_constant_time_compare() {
        let a = Auth::compile(&seed(), None).unwrap();
        let before = crate::auth::secret::CT_EQ_CALLS.with(|c| c.get());
        assert!(a.authenticate(&creds("user:b", "password-b"), None).is_ok());
        assert!(crate::auth::secret::CT_EQ_CALLS.with(|c| c.get()) > before);
    }

    #[test]
    fn colon_rule() {
        let a = Auth::compile(&seed(), None).unwrap();
        // nats://user:a:password-a@host is sent as user "user", pass "a:password-a".
        let l = a
            .authenticate(&creds("user", "a:password-a"), None)
            .unwrap();
        assert_eq!(l.principal, Principal::User("user:a".into()));
        assert_eq!(Some(l.account), a.account_id("account:a"));
        let l = a
            .authenticate(&creds("user", "b:password-b"), None)
            .unwrap();
        assert_eq!(Some(l.account), a.account_id("account:b"));
        // Must match a user completely.
        assert!(a
            .authenticate(&creds("user", "a:password-b"), None)
            .is_err());
        assert!(a.authenticate(&creds("user", "a"), None).is_err());
        assert!(a
            .authenticate(&creds("user", "c:password-a"), None)
            .is_err());
        assert!(a
            .authenticate(&creds("use", "r:a:password-a"), None)
            .is_err());
    }

    #[test]
    fn colon_rule_later_splits_and_standard_wins() {
        let mut c = config();
        c.accounts = vec![account(
            "A",
            vec![user("a:b:c", "p:q"), user("x", "y:z"), user("x:y", "z")],
        )];
        let a = Auth::compile(&c, None).unwrap();
        // Password with a colon: "a:b:c" + "p:q" arrives as "a" + "b:c:p:q".
        let l = a.authenticate(&creds("a", "b:c:p:q"), None).unwrap();
        assert_eq!(l.principal, Principal::User("a:b:c".into()));
        // Both "x"/"y:z" and "x:y"/"z" are configured: the standard split wins.
        let l = a.authenticate(&creds("x", "y:z"), None).unwrap();
        assert_eq!(l.principal, Principal::User("x".into()));
        // No colon names configured: rule is off.
        let mut c = config();
        c.accounts = vec![account("A", vec![user("x", "y")])];
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.authenticate(&creds("x", "y"), None).is_ok());
        assert!(a.authenticate(&creds("x", ":y"), None).is_err());
    }

    #[test]
    fn bcrypt_password_and_token() {
        let hash = bcrypt::hash("pa", 4).unwrap();
        let mut c = config();
        c.accounts = vec![account("A", vec![user("abc", &hash)])];
        let a = Auth::compile(&c, None).unwrap();
        assert!(!a.plaintext_passwords);
        assert!(a.authenticate(&creds("abc", "pa"), None).is_ok());
        assert!(a.authenticate(&creds("abc", &hash), None).is_err());
        assert!(a.authenticate(&creds("abc", "pb"), None).is_err());

        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            token: Some(bcrypt::hash("s3cr3t", 4).unwrap()),
            ..Default::default()
        });
        let a = Auth::compile(&c, None).unwrap();
        let t = |tok| Credentials {
            token: Some(tok),
            ..Default::default()
        };
        assert_eq!(
            a.authenticate(&t("s3cr3t"), None).unwrap().principal,
            Principal::Token
        );
        assert!(a.authenticate(&t("nope"), None).is_err());
    }

    #[test]
    fn plain_token() {
        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            token: Some("s3cr3t".into()),
            ..Default::default()
        });
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.auth_required());
        let l = a
            .authenticate(
                &Credentials {
                    token: Some("s3cr3t"),
                    ..Default::default()
                },
                None,
            )
            .unwrap();
        assert_eq!(l.account, GLOBAL_ACCOUNT);
        assert_eq!(l.label, "$G/token");
        assert!(a.authenticate(&Credentials::default(), None).is_err());
        assert!(a.authenticate(&creds("s3cr3t", ""), None).is_err());
    }

    #[test]
    fn single_user() {
        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            user: Some("derek".into()),
            password: Some("porkchop".into()),
            ..Default::default()
        });
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.authenticate(&creds("derek", "porkchop"), None).is_ok());
        assert!(a.authenticate(&creds("derek", "x"), None).is_err());
    }

    #[test]
    fn nkey_login() {
        let kp = nkeys::KeyPair::new_user();
        let mut c = config();
        c.accounts = vec![account("A", vec![nkey_user(&kp.public_key())])];
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.needs_nonce());
        let nonce = b"kO4u6Ll0GMrdeTc";
        let sig = URL_SAFE_NO_PAD.encode(kp.sign(nonce).unwrap());
        let pk = kp.public_key();
        let cr = |sig| Credentials {
            nkey: Some(&pk),
            sig: Some(sig),
            ..Default::default()
        };
        let l = a.authenticate(&cr(&sig), Some(nonce)).unwrap();
        assert_eq!(l.principal, Principal::Nkey(pk.as_str().into()));
        assert_eq!(l.label, format!("A/nkey:{pk}"));
        // Padded standard base64 is accepted.
        let std_sig = STANDARD.encode(kp.sign(nonce).unwrap());
        assert!(a.authenticate(&cr(&std_sig), Some(nonce)).is_ok());
        // Another connection's nonce, no nonce, no signature, unknown key: all fail.
        assert!(a.authenticate(&cr(&sig), Some(b"other-nonce")).is_err());
        assert!(a.authenticate(&cr(&sig), None).is_err());
        assert!(a
            .authenticate(
                &Credentials {
                    nkey: Some(&pk),
                    ..Default::default()
                },
                Some(nonce)
            )
            .is_err());
        let other = nkeys::KeyPair::new_user();
        let other_pk = other.public_key();
        let other_sig = URL_SAFE_NO_PAD.encode(other.sign(nonce).unwrap());
        assert!(a
            .authenticate(
                &Credentials {
                    nkey: Some(&other_pk),
                    sig: Some(&other_sig),
                    ..Default::default()
                },
                Some(nonce)
            )
            .is_err());
    }

    #[test]
    fn no_auth_user() {
        let mut c = seed();
        c.no_auth_user = Some("user:b".into());
        let a = Auth::compile(&c, None).unwrap();
        assert!(!a.auth_required());
        let l = a.authenticate(&Credentials::default(), None).unwrap();
        assert_eq!(l.principal, Principal::User("user:b".into()));
        assert_eq!(Some(l.account), a.account_id("account:b"));
        assert!(l.permissions.is_some());
        // Empty strings (JSON "") count as absent.
        assert!(a.authenticate(&creds("", ""), None).is_ok());
        // Wrong credentials still fail.
        assert!(a.authenticate(&creds("user:a", "bad"), None).is_err());
        // Explicit good credentials log into their own user.
        let l = a
            .authenticate(&creds("user:a", "password-a"), None)
            .unwrap();
        assert_eq!(Some(l.account), a.account_id("account:a"));
    }

    #[test]
    fn user_without_password() {
        let mut c = config();
        c.accounts = vec![account(
            "A",
            vec![crate::config::UserSpec {
                user: Some("nopass".into()),
                ..Default::default()
            }],
        )];
        let a = Auth::compile(&c, None).unwrap();
        let cr = Credentials {
            user: Some("nopass"),
            ..Default::default()
        };
        assert!(a.authenticate(&cr, None).is_ok());
        assert!(a.authenticate(&creds("nopass", "x"), None).is_err());
    }

    #[test]
    fn connection_types() {
        let mut c = config();
        let mut ws = user("ws", "p");
        ws.allowed_connection_types = vec!["WEBSOCKET".into()];
        let mut std_ = user("std", "p");
        std_.allowed_connection_types = vec!["websocket".into(), "standard".into()];
        c.accounts = vec![account("A", vec![ws, std_])];
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.authenticate(&creds("ws", "p"), None).is_err());
        assert!(a.authenticate(&creds("std", "p"), None).is_ok());
    }

    #[test]
    fn recheck_after_reload() {
        let old = Auth::compile(&seed(), None).unwrap();
        let ca = creds("user:a", "password-a");
        let cb = creds("user", "b:password-b");
        let la = old.authenticate(&ca, None).unwrap();
        let lb = old.authenticate(&cb, None).unwrap();

        // Unchanged config: both kept, same accounts.
        let same = Auth::compile(&seed(), Some(&old)).unwrap();
        match same.recheck(&la, &ca, None) {
            Recheck::Keep(l) => assert_eq!(l.account, la.account),
            r => panic!("{r:?}"),
        }
        assert!(matches!(same.recheck(&lb, &cb, None), Recheck::Keep(_)));

        // b's password changed, a removed.
        let mut c = seed();
        c.accounts[0].users.clear();
        c.accounts[1].users[0].password = Some("new".into());
        let new = Auth::compile(&c, Some(&old)).unwrap();
        assert!(matches!(new.recheck(&la, &ca, None), Recheck::Removed));
        assert!(matches!(
            new.recheck(&lb, &cb, None),
            Recheck::CredentialsChanged
        ));

        // Permissions changed: kept with the new permissions.
        let mut c = seed();
        c.accounts[0].users[0].permissions = Some(perms_spec(&["other.>"], &[]));
        let new = Auth::compile(&c, Some(&old)).unwrap();
        match new.recheck(&la, &ca, None) {
            Recheck::Keep(l) => {
                let p = l.permissions.unwrap();
                assert!(p.can_publish(b"other.x"));
                assert!(!p.can_publish(b"service.a.x"));
            }
            r => panic!("{r:?}"),
        }

        // Anonymous connection when auth becomes required: Authorization Violation.
        let open = Auth::compile(&config(), None).unwrap();
        let anon = open.authenticate(&Credentials::default(), None).unwrap();
        let closed = Auth::compile(&seed(), Some(&open)).unwrap();
        assert!(matches!(
            closed.recheck(&anon, &Credentials::default(), None),
            Recheck::CredentialsChanged
        ));
    }

    #[test]
    fn recheck_skips_bcrypt_when_unchanged() {
        let hash = bcrypt::hash("pa", 4).unwrap();
        let mut c = config();
        c.accounts = vec![account("A", vec![user("abc", &hash)])];
        let old = Auth::compile(&c, None).unwrap();
        let cr = creds("abc", "pa");
        let l = old.authenticate(&cr, None).unwrap();
        let new = Auth::compile(&c, Some(&old)).unwrap();
        // Wrong presented password but unchanged stored secret: kept without re-verifying, proving the fast
        // path (a real connection always presents the same credentials it logged in with).
        assert!(matches!(
            new.recheck(&l, &creds("abc", "zz"), None),
            Recheck::Keep(_)
        ));
    }

    #[test]
    fn fast_checks_never_run_bcrypt() {
        let hash = bcrypt::hash("pa", 4).unwrap();
        let mut c = config();
        c.accounts = vec![account("A", vec![user("slow", &hash), user("plain", "pp")])];
        let a = Auth::compile(&c, None).unwrap();
        // Plain passwords are decided at once, right or wrong.
        assert!(a.authenticate_fast(&creds("plain", "pp"), None).is_ok());
        assert_eq!(
            a.authenticate_fast(&creds("plain", "no"), None)
                .unwrap_err(),
            FastDeny::Failed
        );
        // Unknown users need no bcrypt to fail either.
        assert_eq!(
            a.authenticate_fast(&creds("nobody", "pa"), None)
                .unwrap_err(),
            FastDeny::Failed
        );
        // A bcrypt user is left to the slow check, which decides it.
        assert_eq!(
            a.authenticate_fast(&creds("slow", "pa"), None).unwrap_err(),
            FastDeny::NeedsBcrypt
        );
        assert!(a.authenticate(&creds("slow", "pa"), None).is_ok());
        assert!(a.authenticate(&creds("slow", "no"), None).is_err());
    }

    #[test]
    fn token_logins_survive_a_reload_without_bcrypt() {
        let hash = bcrypt::hash("s3cr3t", 4).unwrap();
        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            token: Some(hash.clone()),
            ..Default::default()
        });
        let old = Auth::compile(&c, None).unwrap();
        let cr = Credentials {
            token: Some("s3cr3t"),
            ..Default::default()
        };
        assert_eq!(
            old.authenticate_fast(&cr, None).unwrap_err(),
            FastDeny::NeedsBcrypt
        );
        let l = old.authenticate(&cr, None).unwrap();
        // Same token after the reload: kept by the fast check, no bcrypt.
        let same = Auth::compile(&c, Some(&old)).unwrap();
        assert!(matches!(
            same.recheck_fast(&l, &cr, None),
            Some(Recheck::Keep(_))
        ));
        // A new token: the fast check cannot decide; the slow one refuses the old token.
        c.authorization = Some(AuthorizationSpec {
            token: Some(bcrypt::hash("other", 4).unwrap()),
            ..Default::default()
        });
        let changed = Auth::compile(&c, Some(&old)).unwrap();
        assert!(changed.recheck_fast(&l, &cr, None).is_none());
        assert!(matches!(
            changed.recheck(&l, &cr, None),
            Recheck::CredentialsChanged
        ));
    }
}
