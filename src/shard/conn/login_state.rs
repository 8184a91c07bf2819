//! Who a connection is: its login, the credentials it presented (kept to re-check it on reload), its
//! compiled permissions and the per-connection caches that go with them, and the nonce its INFO
//! carried. Replaced whole by a login or a reload's re-check, so the caches never outlive the
//! permissions they were computed for.

use crate::auth::{Credentials, Login, Permissions, Principal, PubCache, ReplyGrants};
use crate::protocol::connect::ConnectOptions;
use crate::tls::identity::PeerIdentity;
use std::sync::Arc;

/// The credential fields of a CONNECT, owned (they outlive the read buffer: login runs off the shard, and
/// a reload re-checks them).
#[derive(Clone, Default)]
pub struct OwnedCreds {
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
    pub nkey: Option<String>,
    pub sig: Option<String>,
    /// The client certificate's identity on a `verify_and_map` port (it names the user).
    pub cert: Option<Arc<PeerIdentity>>,
}

impl OwnedCreds {
    pub fn from_connect(c: &ConnectOptions) -> OwnedCreds {
        OwnedCreds {
            user: c.user.clone(),
            pass: c.pass.clone(),
            token: c.auth_token.clone(),
            nkey: c.nkey.clone(),
            sig: c.sig.clone(),
            cert: None,
        }
    }

    pub fn borrow(&self) -> Credentials<'_> {
        Credentials {
            user: self.user.as_deref(),
            pass: self.pass.as_deref(),
            token: self.token.as_deref(),
            nkey: self.nkey.as_deref(),
            sig: self.sig.as_deref(),
            cert: self.cert.as_deref(),
        }
    }
}

pub struct LoginState {
    /// The login, once there is one.
    login: Option<Login>,
    /// Credentials from CONNECT (none for an implicit `no_auth_user` or anonymous login).
    creds: Option<OwnedCreds>,
    /// The login's compiled permissions; `None` = unrestricted. Read on every PUB.
    pub(crate) perms: Option<Arc<Permissions>>,
    /// Bounded cache of publish verdicts for `perms` (see `auth::PubCache`).
    pub(crate) pub_cache: PubCache,
    /// Temporary publish rights granted by `allow_responses` (only for users that have it).
    pub(crate) reply_grants: Option<ReplyGrants>,
    /// The nonce sent in INFO (nkey logins sign it).
    nonce: Option<String>,
    /// On a `verify_and_map` port: what the client's certificate says (set after the handshake; it
    /// names the user at CONNECT).
    pub(crate) cert: Option<Arc<PeerIdentity>>,
}

impl LoginState {
    pub fn new(nonce: Option<String>) -> LoginState {
        LoginState {
            login: None,
            creds: None,
            perms: None,
            pub_cache: PubCache::new(),
            reply_grants: None,
            nonce,
            cert: None,
        }
    }

    pub fn current(&self) -> Option<&Login> {
        self.login.as_ref()
    }

    pub fn creds(&self) -> Option<&OwnedCreds> {
        self.creds.as_ref()
    }

    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// A new login (with the credentials it came from, if a CONNECT presented them): permissions and
    /// their caches start over.
    pub fn set(&mut self, login: Login, creds: Option<OwnedCreds>) {
        self.perms = login.permissions.clone();
        self.pub_cache = PubCache::new();
        self.reply_grants = self
            .perms
            .as_ref()
            .and_then(|p| p.has_responses())
            .map(ReplyGrants::new);
        self.login = Some(login);
        self.creds = creds;
    }

    /// A reload kept the login with possibly new permissions: the verdict cache starts over, reply
    /// grants keep what they granted under the new limits (or go, if the user lost `allow_responses`).
    pub fn relogin(&mut self, login: Login) {
        self.perms = login.permissions.clone();
        self.pub_cache = PubCache::new();
        match (
            self.perms.as_ref().and_then(|p| p.has_responses()),
            &mut self.reply_grants,
        ) {
            (Some(r), Some(g)) => g.set_limits(r),
            (Some(r), None) => self.reply_grants = Some(ReplyGrants::new(r)),
            (None, _) => self.reply_grants = None,
        }
        self.login = Some(login);
    }

    /// True once a CONNECT was handled (its credentials are kept) or the first op logged the
    /// connection in as `no_auth_user` (a user login): a later CONNECT then drops its subscriptions
    /// (nats-server's rule). An anonymous first op on a server without auth does not count.
    pub fn registered(&self) -> bool {
        self.creds.is_some()
            || self
                .login
                .as_ref()
                .is_some_and(|l| matches!(l.principal, Principal::User(_) | Principal::Nkey(_)))
    }

    /// The user (or nkey) logged in as, for log lines ("" for anonymous and token logins).
    pub fn user_name(&self) -> String {
        match self.login.as_ref().map(|l| &l.principal) {
            Some(Principal::User(n) | Principal::Nkey(n)) => n.to_string(),
            _ => String::new(),
        }
    }
}
