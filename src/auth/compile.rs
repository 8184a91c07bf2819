//! [`Auth`]: the immutable result of compiling a config's accounts, users and permissions, and
//! [`Auth::compile`], which reports every config error at once with nats-server's texts. Built once per (re)load and shared by all shards as `Arc<Auth>`.
//!
//! Account ids are stable across reloads: an account keeps its id while it keeps its name; a removed
//! account leaves a tombstone slot (never reused), so ids held by old connections stay meaningful.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use super::account::Account;
use super::permissions::Permissions;
use super::secret::Secret;
use super::{imports, AccountId, GLOBAL_ACCOUNT, GLOBAL_ACCOUNT_NAME, SYSTEM_ACCOUNT_NAME};
use crate::config::{
    AccountSpec, Config, ConfigError, Diagnostic, PermissionsSpec, Span, UserSpec,
};

pub use crate::config::defaults::DEFAULT_AUTH_TIMEOUT;

/// Index of a user in [`Auth::users`] (valid for the `Auth` that produced it).
pub type UserIdx = u32;

/// How a user proves who it is.
pub(crate) enum UserCredential {
    /// `user`/`password`; a user configured without a password has an empty plain secret.
    Password(Secret),
    /// A public user nkey (the user's name is the key); the client signs the nonce.
    Nkey(Box<nkeys::KeyPair>),
}

/// One configured user (or the single `authorization { user, password }` user).
pub struct User {
    /// User name, or the public nkey for nkey users.
    pub name: Arc<str>,
    /// How it authenticates (private: secrets never leave this module tree).
    pub(crate) credential: UserCredential,
    /// The account it logs into.
    pub account: AccountId,
    /// Compiled permissions (own, else the applicable default); `None` = full access.
    pub permissions: Option<Arc<Permissions>>,
    /// `allowed_connection_types` is empty or contains `STANDARD` (the only kind corenats serves).
    pub allow_standard: bool,
    /// Hash of the configured secret (fixed-key SipHash), so a reload can tell "unchanged" without
    /// re-running bcrypt for every live connection.
    pub(crate) fingerprint: u64,
}

/// The compiled authentication and authorization state. Immutable; see the module doc.
pub struct Auth {
    /// Index = [`AccountId`]. Slot 0 is `$G`. Removed accounts stay as tombstones.
    pub accounts: Vec<Account>,
    /// All users, in config order (authorization block first, then accounts in file order).
    pub users: Vec<User>,
    /// User name → index (password users only).
    by_name: HashMap<Arc<str>, UserIdx>,
    /// Public nkey → index.
    by_nkey: HashMap<Arc<str>, UserIdx>,
    /// Live account name → id.
    account_ids: HashMap<String, AccountId>,
    /// `authorization { token }`.
    pub(crate) token: Option<Secret>,
    /// Hash of the configured token (0 without one), so a reload keeps token logins without bcrypt.
    pub(crate) token_fingerprint: u64,
    /// `no_auth_user`, resolved.
    pub(crate) no_auth_user: Option<UserIdx>,
    /// Anonymous clients log into `$G` although users exist (the only account is the system account and
    /// there is no authorization block: nats-server's hidden `nats-XXXXXXXX` no_auth_user).
    pub(crate) anonymous_global: bool,
    /// The system account, if any.
    pub system_account: Option<AccountId>,
    auth_timeout: Duration,
    /// Some configured user name contains `:` (enables the colon rule in `authenticate`).
    pub(crate) colon_names: bool,
    /// Plain-text passwords are configured (the server logs nats-server's warning at startup; tokens do not count).
    pub plaintext_passwords: bool,
}

/// Fixed-key hash of a configured secret (see [`User::fingerprint`]).
pub(crate) fn fingerprint(s: &str) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Everything compile needs to know about one configured user.
struct UserSource<'a> {
    spec: &'a UserSpec,
    account: AccountId,
    /// The scope's `default_permissions`, compiled once and shared.
    default: Option<&'a Option<Arc<Permissions>>>,
}

/// The report for a configuration that failed to load: its own errors, and the account, user and TLS
/// file errors its partly built form still shows, in file order, so one run reports every error it can find. `adjust`
/// applies what the caller still changes before compiling (`-t`'s exemptions); the command line was
/// applied by `config::Source::load` already.
///
/// Left out: errors already reported, and errors about a name that is missing (an account, the system
/// account, the `no_auth_user`), which an entry dropped for its own error would cause.
pub fn load_error_report(e: &ConfigError, adjust: impl FnOnce(&mut Config)) -> String {
    const FOLLOW_ON: [&str; 4] = [
        "not defined",
        "not present as user or nkey",
        "error resolving system account",
        "account missing",
    ];
    let mut all: Vec<Diagnostic> = e.diagnostics.clone();
    if let Some(partial) = &e.partial {
        let mut cfg = (**partial).clone();
        adjust(&mut cfg);
        let mut more = Auth::compile(&cfg, None).err().unwrap_or_default();
        // The TLS files too, as nats-server loads them while it reads the file.
        if let Err(d) = crate::tls::compile::for_config(&cfg) {
            more.push(d);
        }
        for d in more {
            let repeated = all.iter().any(|seen| seen.message == d.message);
            if !repeated && !FOLLOW_ON.iter().any(|f| d.message.contains(f)) {
                all.push(d);
            }
        }
    }
    report(&mut all)
}

/// Diagnostics as one text, a line each, in file order (those without a position last).
pub fn report(diagnostics: &mut [Diagnostic]) -> String {
    diagnostics.sort_by(|a, b| a.position_key().cmp(&b.position_key()));
    let lines: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    lines.join("\n")
}

/// Compiles one permissions block, collecting its errors.
fn compile_perms(
    spec: &PermissionsSpec,
    span: &Span,
    errors: &mut Vec<Diagnostic>,
) -> Option<Arc<Permissions>> {
    match Permissions::compile(spec) {
        Ok(p) => Some(Arc::new(p)),
        Err(es) => {
            errors.extend(es.into_iter().map(|e| Diagnostic::error(span, e)));
            None
        }
    }
}

/// Gives `name` a live slot: its old slot (live or tombstone) if the name was seen before, else a new one.
fn claim(
    name: &str,
    accounts: &mut Vec<Account>,
    ids: &mut HashMap<String, AccountId>,
) -> AccountId {
    let id = match accounts.iter().position(|a| a.name == name) {
        Some(i) => i as AccountId,
        None => {
            accounts.push(Account::tombstone(accounts.len() as AccountId, name));
            (accounts.len() - 1) as AccountId
        }
    };
    if let Some(slot) = accounts.get_mut(id as usize) {
        *slot = Account::new(id, name);
    }
    ids.insert(name.to_string(), id);
    id
}

/// The accounts of one compile: slots (with stable ids) and names, and the configured ones in order.
struct AccountSlots<'a> {
    accounts: Vec<Account>,
    ids: HashMap<String, AccountId>,
    /// Configured accounts (not `$G`, not refused) with their ids, in file order.
    specs: Vec<(AccountId, &'a AccountSpec)>,
    system: Option<AccountId>,
}

/// Accounts and their ids: `$G` first, every configured account (a duplicate or `$G` refused), and
/// the system account. Ids are stable across reloads (`prev`: the `Auth` being replaced).
fn compile_accounts<'a>(
    cfg: &'a Config,
    prev: Option<&Auth>,
    errors: &mut Vec<Diagnostic>,
) -> AccountSlots<'a> {
    let mut accounts: Vec<Account> = Vec::new();
    let mut ids: HashMap<String, AccountId> = HashMap::new();
    if let Some(p) = prev {
        for a in &p.accounts {
            accounts.push(Account::tombstone(a.id, &a.name));
        }
    } else {
        accounts.push(Account::tombstone(GLOBAL_ACCOUNT, GLOBAL_ACCOUNT_NAME));
    }
    claim(GLOBAL_ACCOUNT_NAME, &mut accounts, &mut ids);
    let mut specs = Vec::new();
    for a in &cfg.accounts {
        if a.name == GLOBAL_ACCOUNT_NAME {
            errors.push(Diagnostic::error(
                &a.span,
                format!("{GLOBAL_ACCOUNT_NAME:?} is a Reserved Account"),
            ));
            continue;
        }
        if ids.contains_key(&a.name) {
            errors.push(Diagnostic::error(
                &a.span,
                format!("Duplicate account {:?} detected", a.name),
            ));
            continue;
        }
        let id = claim(&a.name, &mut accounts, &mut ids);
        accounts[id as usize].limits = a.limits.clone();
        specs.push((id, a));
    }
    let system = match (&cfg.system_account, cfg.no_system_account) {
        (Some(name), _) => match ids.get(name) {
            Some(id) => Some(*id),
            None if name == SYSTEM_ACCOUNT_NAME => {
                Some(claim(SYSTEM_ACCOUNT_NAME, &mut accounts, &mut ids))
            }
            None => {
                errors.push(Diagnostic::error(
                    &cfg.system_account_span,
                    "error resolving system account: account missing",
                ));
                None
            }
        },
        (None, true) => None,
        (None, false) => Some(match ids.get(SYSTEM_ACCOUNT_NAME) {
            Some(id) => *id,
            None => claim(SYSTEM_ACCOUNT_NAME, &mut accounts, &mut ids),
        }),
    };
    if let Some(id) = system {
        accounts[id as usize].is_system = true;
    }
    AccountSlots {
        accounts,
        ids,
        specs,
        system,
    }
}

/// nats-server's rules for what an `authorization` block may combine.
fn check_authorization(cfg: &Config, errors: &mut Vec<Diagnostic>) {
    let Some(a) = cfg.authorization.as_ref() else {
        return;
    };
    let single_user = a.user.as_deref().is_some_and(|u| !u.is_empty());
    let token = a.token.as_deref().is_some_and(|t| !t.is_empty());
    let account_users = cfg.accounts.iter().any(|a| !a.users.is_empty());
    let mut refuse = |msg: &str| errors.push(Diagnostic::error(&a.span, msg));
    if (single_user || a.password.as_deref().is_some_and(|p| !p.is_empty())) && token {
        refuse("Cannot have a user/pass and token");
    }
    if !a.users.is_empty() && single_user {
        refuse("Can not have a single user/pass and a users array");
    }
    if !a.users.is_empty() && token {
        refuse("Can not have a token and a users array");
    }
    if account_users && single_user {
        refuse("Can not have a single user/pass and accounts");
    }
    if account_users && token {
        refuse("Can not have a token and accounts");
    }
}

/// The users of one compile and the indexes into them.
#[derive(Default)]
struct UserTable {
    users: Vec<User>,
    by_name: HashMap<Arc<str>, UserIdx>,
    by_nkey: HashMap<Arc<str>, UserIdx>,
    plaintext_passwords: bool,
}

impl UserTable {
    fn add_password_user(
        &mut self,
        name: &str,
        pw: &str,
        user: UserSource<'_>,
        perms: Option<Arc<Permissions>>,
        allow_standard: bool,
    ) {
        let secret = Secret::new(pw);
        self.plaintext_passwords |= secret.is_plain() && !pw.is_empty();
        let name: Arc<str> = name.into();
        self.by_name
            .insert(name.clone(), self.users.len() as UserIdx);
        self.users.push(User {
            name,
            credential: UserCredential::Password(secret),
            account: user.account,
            permissions: perms,
            allow_standard,
            fingerprint: fingerprint(pw),
        });
    }
}

/// Every user: the single `authorization` user, the `authorization` users (in `$G`), then each
/// account's, with their permissions (own, else their scope's `default_permissions`).
fn compile_users(
    cfg: &Config,
    slots: &AccountSlots<'_>,
    errors: &mut Vec<Diagnostic>,
) -> UserTable {
    let authz = cfg.authorization.as_ref();
    // Default permissions, compiled once per scope.
    let authz_default: Option<Arc<Permissions>> = authz
        .and_then(|a| a.default_permissions.as_ref().map(|p| (p, &a.span)))
        .and_then(|(p, s)| compile_perms(p, s, errors));
    let account_defaults: Vec<Option<Arc<Permissions>>> = slots
        .specs
        .iter()
        .map(|(_, a)| {
            a.default_permissions
                .as_ref()
                .and_then(|p| compile_perms(p, &a.span, errors))
        })
        .collect();
    let mut sources: Vec<UserSource<'_>> = Vec::new();
    if let Some(a) = authz {
        for u in &a.users {
            sources.push(UserSource {
                spec: u,
                account: GLOBAL_ACCOUNT,
                default: Some(&authz_default),
            });
        }
    }
    for (i, (id, a)) in slots.specs.iter().enumerate() {
        for u in &a.users {
            sources.push(UserSource {
                spec: u,
                account: *id,
                default: account_defaults.get(i),
            });
        }
    }
    let mut table = UserTable::default();
    let single_user = authz
        .and_then(|a| a.user.as_deref())
        .filter(|u| !u.is_empty());
    if let (Some(a), Some(name)) = (authz, single_user) {
        let pw = a.password.as_deref().unwrap_or("");
        let me = UserSource {
            spec: &SINGLE_USER,
            account: GLOBAL_ACCOUNT,
            default: None,
        };
        table.add_password_user(name, pw, me, None, true);
    }
    for src in sources {
        let u = src.spec;
        let permissions = match &u.permissions {
            Some(p) => compile_perms(p, &u.span, errors),
            None => src.default.and_then(|d| d.clone()),
        };
        let allow_standard = u.allowed_connection_types.is_empty()
            || u.allowed_connection_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case("STANDARD"));
        let user_name = u.user.as_deref().filter(|n| !n.is_empty());
        if let Some(key) = u.nkey.as_deref().filter(|k| !k.is_empty()) {
            if user_name.is_some() || u.password.is_some() {
                errors.push(Diagnostic::error(
                    &u.span,
                    "Nkey users do not take usernames or passwords",
                ));
                continue;
            }
            let kp = match nkeys::KeyPair::from_public_key(key) {
                Ok(kp) if key.starts_with('U') => kp,
                _ => {
                    errors.push(Diagnostic::error(
                        &u.span,
                        "Not a valid public nkey for a user",
                    ));
                    continue;
                }
            };
            if table.by_nkey.contains_key(key) {
                errors.push(Diagnostic::error(
                    &u.span,
                    format!("Duplicate nkey {key:?} detected"),
                ));
                continue;
            }
            let name: Arc<str> = key.into();
            table
                .by_nkey
                .insert(name.clone(), table.users.len() as UserIdx);
            table.users.push(User {
                name,
                credential: UserCredential::Nkey(Box::new(kp)),
                account: src.account,
                permissions,
                allow_standard,
                fingerprint: fingerprint(key),
            });
        } else if let Some(name) = user_name {
            if table.by_name.contains_key(name) {
                errors.push(Diagnostic::error(
                    &u.span,
                    format!("Duplicate user {name:?} detected"),
                ));
                continue;
            }
            let pw = u.password.as_deref().unwrap_or("");
            table.add_password_user(name, pw, src, permissions, allow_standard);
        } else {
            errors.push(Diagnostic::error(&u.span, "User entry requires a user"));
        }
    }
    table
}

/// What stands for the single `authorization { user, password }` user where a `UserSpec` is expected.
static SINGLE_USER: std::sync::LazyLock<UserSpec> = std::sync::LazyLock::new(UserSpec::default);

impl Auth {
    /// Compiles `cfg`. `prev` is the `Auth` being replaced on reload (for stable account ids).
    /// Returns every error found, each with its place in the configuration when it has one.
    pub fn compile(cfg: &Config, prev: Option<&Auth>) -> Result<Auth, Vec<Diagnostic>> {
        let mut errors: Vec<Diagnostic> = Vec::new();
        let authz = cfg.authorization.as_ref();
        let mut slots = compile_accounts(cfg, prev, &mut errors);
        check_authorization(cfg, &mut errors);
        let table = compile_users(cfg, &slots, &mut errors);

        // A plain token is not warned about (nats-server checks passwords only).
        let token = authz
            .and_then(|a| a.token.as_deref())
            .filter(|t| !t.is_empty());
        let token_fingerprint = token.map_or(0, fingerprint);
        let token = token.map(Secret::new);

        // no_auth_user
        let no_auth_user = match cfg.no_auth_user.as_deref().filter(|n| !n.is_empty()) {
            Some(n) => match table.by_name.get(n).or_else(|| table.by_nkey.get(n)) {
                Some(i) => Some(*i),
                None => {
                    errors.push(Diagnostic::error(
                        &cfg.no_auth_user_span,
                        format!(
                            "no_auth_user: {n:?} not present as user or nkey in authorization block \
                             or account configuration"
                        ),
                    ));
                    None
                }
            },
            None => None,
        };
        let only_system = slots.specs.len() == 1
            && slots.specs.first().map(|(id, _)| Some(*id)) == Some(slots.system);
        let anonymous_global = only_system && authz.is_none() && cfg.no_auth_user.is_none();

        // Exports, imports, mappings.
        imports::compile(&slots.specs, &slots.ids, &mut slots.accounts, &mut errors);
        imports::add_mappings(
            &mut slots.accounts[GLOBAL_ACCOUNT as usize],
            &cfg.mappings,
            &mut errors,
        );

        if !errors.is_empty() {
            return Err(errors);
        }
        let colon_names = table.by_name.keys().any(|n| n.contains(':'));
        Ok(Auth {
            accounts: slots.accounts,
            users: table.users,
            by_name: table.by_name,
            by_nkey: table.by_nkey,
            account_ids: slots.ids,
            token,
            token_fingerprint,
            no_auth_user,
            anonymous_global,
            system_account: slots.system,
            // nats-server: a timeout of 0 means the default (longer with TLS).
            auth_timeout: authz
                .and_then(|a| a.timeout)
                .filter(|t| !t.is_zero())
                .unwrap_or_else(|| cfg.default_auth_timeout()),
            colon_names,
            plaintext_passwords: table.plaintext_passwords,
        })
    }

    /// True if some way of logging in is configured (users, nkeys, or a token).
    pub fn has_credentials(&self) -> bool {
        !self.users.is_empty() || self.token.is_some()
    }

    /// True if a client must authenticate with CONNECT before anything else: credentials are configured
    /// and anonymous clients have nowhere to go (no `no_auth_user`, no hidden `$G` user). Also decides
    /// whether the auth timer runs.
    pub fn auth_required(&self) -> bool {
        self.has_credentials() && self.no_auth_user.is_none() && !self.anonymous_global
    }

    /// True if nkey users exist, so INFO must carry a nonce.
    pub fn needs_nonce(&self) -> bool {
        !self.by_nkey.is_empty()
    }

    /// `authorization.timeout` (default 2 s).
    pub fn auth_timeout(&self) -> Duration {
        self.auth_timeout
    }

    /// Id of a live (not removed) account.
    pub fn account_id(&self, name: &str) -> Option<AccountId> {
        self.account_ids.get(name).copied()
    }

    /// The account in slot `id` (tombstones included).
    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(id as usize)
    }

    /// A password user by name.
    pub(crate) fn user_by_name(&self, name: &str) -> Option<(UserIdx, &User)> {
        let i = *self.by_name.get(name)?;
        self.users.get(i as usize).map(|u| (i, u))
    }

    /// An nkey user by public key.
    pub(crate) fn user_by_nkey(&self, key: &str) -> Option<(UserIdx, &User)> {
        let i = *self.by_nkey.get(key)?;
        self.users.get(i as usize).map(|u| (i, u))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn load_error_report_adds_account_errors_once_in_file_order() {
        let report = |text: &str| {
            let e = crate::config::parse_str(text, std::path::Path::new("t.conf"), false)
                .expect_err("the text is broken");
            load_error_report(&e, |_| {})
        };
        // A config error and an accounts error, in file order.
        let r = report(
            "accounts {\n  A { users: [ {user: a, password: a} ] }\n  B { users: [ {user: a, password: b} ] }\n}\nport: \"x\"\n",
        );
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines.len(), 2, "{r}");
        assert!(
            lines[0].starts_with("t.conf:3:")
                && lines[0].ends_with("Duplicate user \"a\" detected"),
            "{r}"
        );
        assert!(
            lines[1].starts_with("t.conf:5:8: invalid value for \"port\""),
            "{r}"
        );
        // Reported by both layers: once.
        let r = report("authorization { token: \"t\", users: [ {user: a, password: a} ] }\n");
        assert_eq!(
            r.matches("Can not have a token and a users array").count(),
            1,
            "{r}"
        );
        // An account dropped for its own error does not also show up as "not defined" / "missing".
        let r = report("accounts {\n  C: \"notamap\"\n  D: { imports: [ { stream: { account: C, subject: \"s.>\" } } ] }\n}\nsystem_account: C\n");
        assert_eq!(r.lines().count(), 1, "{r}");
        assert!(r.contains("Expected map entries for accounts"), "{r}");
    }

    use super::super::test_support::*;
    use super::*;
    use crate::config::AuthorizationSpec;

    /// The texts of what compiling `c` refused (empty when it compiles).
    fn compile_errors(c: &Config) -> Vec<String> {
        let errs = Auth::compile(c, None).err().unwrap_or_default();
        errs.iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn auth_is_send_and_sync() {
        fn check<X: Send + Sync>() {}
        check::<Auth>();
        check::<Arc<Auth>>();
    }

    #[test]
    fn empty_config() {
        let a = Auth::compile(&config(), None).unwrap();
        assert!(!a.auth_required());
        assert!(!a.needs_nonce());
        assert_eq!(a.auth_timeout(), DEFAULT_AUTH_TIMEOUT);
        assert_eq!(a.accounts[0].name, "$G");
        assert_eq!(a.account_id("$G"), Some(0));
        assert_eq!(a.account_id("$SYS"), Some(1));
        assert_eq!(a.system_account, Some(1));
        assert!(a.accounts[1].is_system);
    }

    #[test]
    fn no_system_account() {
        let mut c = config();
        c.no_system_account = true;
        let a = Auth::compile(&c, None).unwrap();
        assert_eq!(a.system_account, None);
        assert_eq!(a.accounts.len(), 1);
    }

    #[test]
    fn named_system_account() {
        let mut c = config();
        c.accounts = vec![
            account("SYS", vec![user("admin", "pw")]),
            account("A", vec![]),
        ];
        c.system_account = Some("SYS".into());
        let a = Auth::compile(&c, None).unwrap();
        assert_eq!(a.system_account, a.account_id("SYS"));
        assert!(a.account_id("$SYS").is_none());
        c.system_account = Some("NOPE".into());
        assert_eq!(
            compile_errors(&c),
            vec!["error resolving system account: account missing"]
        );
    }

    #[test]
    fn only_system_account_keeps_anonymous_global() {
        let mut c = config();
        c.accounts = vec![account("SYS", vec![user("admin", "pw")])];
        c.system_account = Some("SYS".into());
        let a = Auth::compile(&c, None).unwrap();
        assert!(!a.auth_required());
        assert!(a.has_credentials());
    }

    #[test]
    fn timeout_and_flags() {
        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            timeout: Some(Duration::from_millis(1500)),
            users: vec![
                user("u", "p"),
                nkey_user(&nkeys::KeyPair::new_user().public_key()),
            ],
            ..Default::default()
        });
        let a = Auth::compile(&c, None).unwrap();
        assert_eq!(a.auth_timeout(), Duration::from_millis(1500));
        assert!(a.auth_required());
        assert!(a.needs_nonce());
        assert!(a.plaintext_passwords);
        // As in nats-server, a timeout of 0 means the default.
        if let Some(authz) = c.authorization.as_mut() {
            authz.timeout = Some(Duration::ZERO);
        }
        let a = Auth::compile(&c, None).unwrap();
        assert_eq!(a.auth_timeout(), DEFAULT_AUTH_TIMEOUT);
    }

    /// nats-server's getDefaultAuthTimeout: with TLS and no `authorization.timeout`, the TLS timeout + 1 s.
    #[test]
    fn tls_lengthens_the_default_timeout() {
        let mut c = config();
        c.tls = Some(crate::config::TlsSpec::default());
        assert_eq!(
            Auth::compile(&c, None).unwrap().auth_timeout(),
            Duration::from_secs(3)
        );
        c.tls = Some(crate::config::TlsSpec {
            timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        });
        assert_eq!(
            Auth::compile(&c, None).unwrap().auth_timeout(),
            Duration::from_millis(1500)
        );
        c.authorization = Some(AuthorizationSpec {
            timeout: Some(Duration::from_secs(7)),
            ..Default::default()
        });
        assert_eq!(
            Auth::compile(&c, None).unwrap().auth_timeout(),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn all_errors_at_once() {
        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            user: Some("single".into()),
            password: Some("pw".into()),
            token: Some("tok".into()),
            users: vec![user("dup", "x")],
            ..Default::default()
        });
        c.accounts = vec![
            account("A", vec![user("dup", "y"), user("ok", "z")]),
            account("$G", vec![]),
        ];
        c.no_auth_user = Some("ghost".into());
        let errs = compile_errors(&c);
        assert_eq!(
            errs,
            vec![
                r#""$G" is a Reserved Account"#,
                "Cannot have a user/pass and token",
                "Can not have a single user/pass and a users array",
                "Can not have a token and a users array",
                "Can not have a single user/pass and accounts",
                "Can not have a token and accounts",
                r#"Duplicate user "dup" detected"#,
                r#"no_auth_user: "ghost" not present as user or nkey in authorization block or account configuration"#,
            ]
        );
    }

    #[test]
    fn user_entry_errors() {
        let mut c = config();
        let kp = nkeys::KeyPair::new_user();
        let mut bad_nkey = nkey_user(&kp.public_key());
        bad_nkey.user = Some("named".into());
        let account_key = nkeys::KeyPair::new_account().public_key();
        c.accounts = vec![account(
            "A",
            vec![
                bad_nkey,
                nkey_user("UNOTAKEY"),
                nkey_user(&account_key),
                nkey_user(&kp.public_key()),
                nkey_user(&kp.public_key()),
                UserSpec::default(),
            ],
        )];
        let errs = compile_errors(&c);
        assert_eq!(
            errs,
            vec![
                "Nkey users do not take usernames or passwords".to_string(),
                "Not a valid public nkey for a user".to_string(),
                "Not a valid public nkey for a user".to_string(),
                format!("Duplicate nkey {:?} detected", kp.public_key()),
                "User entry requires a user".to_string(),
            ]
        );
    }

    #[test]
    fn errors_carry_positions() {
        let mut c = config();
        let mut u = user("dup", "x");
        u.span = crate::config::Span {
            file: "n.conf".into(),
            line: 7,
            col: 3,
        };
        c.accounts = vec![account("A", vec![user("dup", "x")]), account("B", vec![u])];
        assert_eq!(
            compile_errors(&c),
            vec![r#"n.conf:7:3: Duplicate user "dup" detected"#]
        );
    }

    #[test]
    fn invalid_permission_subjects_reported() {
        let mut c = config();
        let mut u = user("u", "p");
        u.permissions = Some(perms_spec(&["foo..bar"], &["ok"]));
        c.accounts = vec![account("A", vec![u])];
        assert_eq!(
            compile_errors(&c),
            vec![r#"subject "foo..bar" is not a valid subject"#]
        );
    }

    #[test]
    fn default_permissions_replace_not_merge() {
        let mut c = config();
        let mut own = user("own", "p");
        own.permissions = Some(PermissionsSpec {
            publish: Some(sub_spec(&[">"])),
            ..Default::default()
        });
        let mut acc = account("A", vec![own, user("plain", "p")]);
        acc.default_permissions = Some(perms_spec(&["d.>"], &["d.>"]));
        c.accounts = vec![acc];
        let a = Auth::compile(&c, None).unwrap();
        let (_, own) = a.user_by_name("own").unwrap();
        let p = own.permissions.as_ref().unwrap();
        // Only publish was given: subscribe is unrestricted, not the default's `d.>`.
        assert!(p.subscribe.is_none());
        assert!(p.can_publish(b"x"));
        let (_, plain) = a.user_by_name("plain").unwrap();
        let p = plain.permissions.as_ref().unwrap();
        assert!(p.can_publish(b"d.x"));
        assert!(!p.can_publish(b"x"));

        // authorization-level defaults for its users.
        let mut c = config();
        c.authorization = Some(AuthorizationSpec {
            users: vec![user("g", "p")],
            default_permissions: Some(perms_spec(&["g.>"], &[])),
            ..Default::default()
        });
        let a = Auth::compile(&c, None).unwrap();
        let (_, g) = a.user_by_name("g").unwrap();
        assert_eq!(g.account, GLOBAL_ACCOUNT);
        assert!(!g.permissions.as_ref().unwrap().can_publish(b"x"));
    }

    #[test]
    fn shared_default_permissions() {
        let mut c = config();
        let mut acc = account("A", vec![user("u1", "p"), user("u2", "p")]);
        acc.default_permissions = Some(perms_spec(&["d.>"], &[]));
        c.accounts = vec![acc];
        let a = Auth::compile(&c, None).unwrap();
        let p1 = a.user_by_name("u1").unwrap().1.permissions.clone().unwrap();
        let p2 = a.user_by_name("u2").unwrap().1.permissions.clone().unwrap();
        assert!(Arc::ptr_eq(&p1, &p2));
    }

    #[test]
    fn account_ids_stable_across_reload() {
        let mut c = config();
        c.accounts = vec![
            account("A", vec![]),
            account("B", vec![]),
            account("C", vec![]),
        ];
        let first = Auth::compile(&c, None).unwrap();
        let (a, b, cc) = (
            first.account_id("A").unwrap(),
            first.account_id("B").unwrap(),
            first.account_id("C").unwrap(),
        );
        // Remove B, reorder, add D.
        c.accounts = vec![
            account("C", vec![]),
            account("D", vec![]),
            account("A", vec![]),
        ];
        let second = Auth::compile(&c, Some(&first)).unwrap();
        assert_eq!(second.account_id("A"), Some(a));
        assert_eq!(second.account_id("C"), Some(cc));
        assert_eq!(second.account_id("B"), None);
        let d = second.account_id("D").unwrap();
        assert!(d != a && d != b && d != cc);
        assert!(second.accounts[b as usize].removed);
        assert_eq!(second.accounts[b as usize].name, "B");
        assert_eq!(second.account_id("$G"), Some(0));
        assert_eq!(second.account_id("$SYS"), first.account_id("$SYS"));
        // B comes back under its old id (same name, same tenant).
        c.accounts.push(account("B", vec![]));
        let third = Auth::compile(&c, Some(&second)).unwrap();
        assert_eq!(third.account_id("B"), Some(b));
        assert_eq!(third.account_id("D"), Some(d));
        for (i, acc) in third.accounts.iter().enumerate() {
            assert_eq!(acc.id as usize, i);
        }
    }

    #[test]
    fn cli_overrides() {
        let mut c = config();
        crate::config::Overrides {
            user: Some("u".into()),
            pass: Some("p".into()),
            ..Default::default()
        }
        .apply(&mut c);
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.auth_required());
        assert!(a.user_by_name("u").is_some());
        let mut c = config();
        crate::config::Overrides {
            token: Some("tok".into()),
            ..Default::default()
        }
        .apply(&mut c);
        let a = Auth::compile(&c, None).unwrap();
        assert!(a.auth_required());
    }
}
