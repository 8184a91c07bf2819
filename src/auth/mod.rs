//! TEMPORARY stub until the auth module lands: no authentication, one global account.
use crate::config::{AccountLimits, Config};
use crate::protocol::connect::ConnectOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type AccountId = u32;

pub struct Account {
    pub name: String,
    pub limits: AccountLimits,
    pub is_system: bool,
}

pub struct Auth {
    pub accounts: Vec<Account>,
}

#[derive(Debug)]
pub struct AuthFailure;

#[derive(Clone, Default, Debug)]
pub struct Credentials {
    pub user: Option<String>,
    pub pass: Option<String>,
    pub token: Option<String>,
    pub nkey: Option<String>,
    pub sig: Option<String>,
}
impl Credentials {
    pub fn from_connect(c: &ConnectOptions) -> Credentials {
        Credentials {
            user: c.user.clone(),
            pass: c.pass.clone(),
            token: c.auth_token.clone(),
            nkey: c.nkey.clone(),
            sig: c.sig.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Login {
    pub account: AccountId,
    pub label: String,
    pub permissions: Option<Arc<Permissions>>,
}

pub struct Permissions;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubVerdict {
    Allowed,
    AllowedFilterDeny,
    Denied,
}
pub struct ResponsePerm;
impl Permissions {
    pub fn can_subscribe(&self, _s: &[u8], _q: Option<&[u8]>) -> SubVerdict {
        SubVerdict::Allowed
    }
    pub fn deliver_allowed(&self, _s: &[u8]) -> bool {
        true
    }
    pub fn has_responses(&self) -> Option<&ResponsePerm> {
        None
    }
}
pub struct PubCache;
impl PubCache {
    pub fn new() -> Self {
        PubCache
    }
    pub fn check(&mut self, _p: &Permissions, _s: &[u8]) -> bool {
        true
    }
}
pub struct ReplyGrants;
impl ReplyGrants {
    pub fn new() -> Self {
        ReplyGrants
    }
    pub fn grant(&mut self, _r: &[u8], _now: Instant, _p: &Permissions) {}
    pub fn consume(&mut self, _s: &[u8], _now: Instant) -> bool {
        false
    }
}
pub enum Recheck {
    Keep(Login),
    Removed,
    CredentialsChanged,
}
pub fn new_nonce() -> String {
    "nonce".into()
}
impl Auth {
    pub fn compile(_c: &Config, _prev: Option<&Auth>) -> Result<Auth, Vec<String>> {
        Ok(Auth {
            accounts: vec![Account {
                name: "$G".into(),
                limits: AccountLimits::default(),
                is_system: false,
            }],
        })
    }
    pub fn auth_required(&self) -> bool {
        false
    }
    pub fn needs_nonce(&self) -> bool {
        false
    }
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_secs(2)
    }
    pub fn authenticate(&self, _c: &Credentials, _n: Option<&[u8]>) -> Result<Login, AuthFailure> {
        Ok(Login {
            account: 0,
            label: "$G".into(),
            permissions: None,
        })
    }
    pub fn recheck(&self, l: &Login, _c: &Credentials, _n: Option<&[u8]>) -> Recheck {
        Recheck::Keep(l.clone())
    }
}
