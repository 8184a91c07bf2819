//! Builders for tests: typed configs written directly as schema structs.

use std::time::Duration;

use crate::config::{
    AccountSpec, Config, ExportKind, ExportSpec, ImportSpec, PermissionsSpec, ResponseType,
    SubjectPermSpec, UserSpec,
};

/// A config with nats-server's defaults and nothing configured.
pub(crate) fn config() -> Config {
    Config::default()
}

pub(crate) fn user(name: &str, pass: &str) -> UserSpec {
    UserSpec {
        user: Some(name.into()),
        password: Some(pass.into()),
        ..Default::default()
    }
}

pub(crate) fn nkey_user(key: &str) -> UserSpec {
    UserSpec {
        nkey: Some(key.into()),
        ..Default::default()
    }
}

pub(crate) fn account(name: &str, users: Vec<UserSpec>) -> AccountSpec {
    AccountSpec {
        name: name.into(),
        users,
        ..Default::default()
    }
}

/// `allow` only.
pub(crate) fn sub_spec(allow: &[&str]) -> SubjectPermSpec {
    SubjectPermSpec {
        allow: Some(allow.iter().map(|s| s.to_string()).collect()),
        deny: None,
    }
}

/// Publish allow `publish`, subscribe allow `subscribe` (empty slice = no rules for that direction).
pub(crate) fn perms_spec(publish: &[&str], subscribe: &[&str]) -> PermissionsSpec {
    PermissionsSpec {
        publish: (!publish.is_empty()).then(|| sub_spec(publish)),
        subscribe: (!subscribe.is_empty()).then(|| sub_spec(subscribe)),
        allow_responses: None,
    }
}

pub(crate) fn export(kind: ExportKind, subject: &str, accounts: &[&str]) -> ExportSpec {
    ExportSpec {
        kind,
        subject: subject.into(),
        accounts: accounts.iter().map(|s| s.to_string()).collect(),
        response_type: ResponseType::Singleton,
        response_threshold: Duration::from_secs(120),
        span: Default::default(),
    }
}

pub(crate) fn import(kind: ExportKind, account: &str, subject: &str) -> ImportSpec {
    ImportSpec {
        kind,
        account: account.into(),
        subject: subject.into(),
        to: None,
        prefix: None,
        share: false,
        span: Default::default(),
    }
}
