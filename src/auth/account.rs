//! [`Account`]: one tenant as compiled from the config, with the lookup tables the engine uses for stream
//! imports, service imports and mappings. Every table is a subject trie, so the engine
//! does one lookup per publish, never a scan over imports.
//!
//! The tries are shared read-only ([`FrozenSublist`]); the engine keeps per-shard caches of the results
//! (keyed by subject, invalidated when a new `Arc<Auth>` is installed).

use std::time::Duration;

use super::frozen::FrozenSublist;
use super::transform::SubjectTransform;
use super::AccountId;
use crate::config::{AccountLimits, ResponseType};

/// One account slot. The slot index is the [`AccountId`]; ids never move (see `Auth::compile`).
#[derive(Debug)]
pub struct Account {
    /// Same as its index in `Auth::accounts`.
    pub id: AccountId,
    /// Config name (case-sensitive). `$G` for id 0.
    pub name: String,
    /// Tombstone: the account existed in an earlier config and was removed. Nobody can log into it; the
    /// slot stays so that ids held by old connections never point at a different account.
    pub removed: bool,
    /// True for the system account (`system_account` or the automatic `$SYS`).
    pub is_system: bool,
    /// `limits { ... }` as configured (the engine combines them with the server limits).
    pub limits: AccountLimits,
    /// On the EXPORTING account: imported stream subjects (as the importer wrote them, each a subset of an
    /// export) → index into `stream_route_list`. A publish here whose subject matches is also delivered in
    /// each route's importer under the transformed subject.
    pub stream_routes: FrozenSublist<u32>,
    /// Targets of `stream_routes`.
    pub stream_route_list: Vec<StreamRoute>,
    /// On the IMPORTING account: local subjects that are service imports → index into
    /// `service_import_list`. Local subjects are unique per account (config error otherwise).
    pub service_imports: FrozenSublist<u32>,
    /// Targets of `service_imports`.
    pub service_import_list: Vec<ServiceImport>,
    /// `mappings` sources → index into `mapping_list`.
    pub mappings: FrozenSublist<u32>,
    /// Targets of `mappings`.
    pub mapping_list: Vec<Mapping>,
}

/// Where a stream published in the exporting account is also delivered.
#[derive(Debug, Clone)]
pub struct StreamRoute {
    /// The importing account.
    pub importer: AccountId,
    /// Exporter subject → subject seen in the importer (`prefix`, `to`, or unchanged).
    pub transform: SubjectTransform,
    /// The imported subject pattern (in the exporter), for logs and monitoring.
    pub subject: Box<str>,
}

/// A service the importing account may call.
#[derive(Debug, Clone)]
pub struct ServiceImport {
    /// The exporting account, where the request is delivered.
    pub exporter: AccountId,
    /// Local subject → subject in the exporter.
    pub transform: SubjectTransform,
    /// From the export: how many responses a request may get.
    pub response_type: ResponseType,
    /// From the export: how long a stream/chunked response mapping lives.
    pub threshold: Duration,
    /// `share: true`: the request-info header carries the requester's details.
    pub share: bool,
    /// The local subject pattern (in the importer), for logs.
    pub local: Box<str>,
    /// The subject pattern in the exporter, for logs.
    pub remote: Box<str>,
}

/// One `mappings` entry: a source pattern and its weighted destinations.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The source pattern.
    pub source: Box<str>,
    /// (transform, weight in percent). Weights add up to at most 100; the rest keeps the subject unchanged.
    pub destinations: Vec<(SubjectTransform, u8)>,
}

impl Mapping {
    /// The destination for a roll in `0..100` (the engine draws it per message), or `None` when the roll
    /// falls in the unassigned remainder (the subject stays as published). A single plain mapping has
    /// weight 100 and always applies.
    pub fn pick(&self, roll: u8) -> Option<&SubjectTransform> {
        let mut acc: u16 = 0;
        for (t, w) in &self.destinations {
            acc += u16::from(*w);
            if u16::from(roll) < acc {
                return Some(t);
            }
        }
        None
    }
}

impl Account {
    /// An empty account in slot `id`.
    pub(crate) fn new(id: AccountId, name: &str) -> Account {
        Account {
            id,
            name: name.to_string(),
            removed: false,
            is_system: false,
            limits: AccountLimits::default(),
            stream_routes: FrozenSublist::new(),
            stream_route_list: Vec::new(),
            service_imports: FrozenSublist::new(),
            service_import_list: Vec::new(),
            mappings: FrozenSublist::new(),
            mapping_list: Vec::new(),
        }
    }

    /// A tombstone for a removed account.
    pub(crate) fn tombstone(id: AccountId, name: &str) -> Account {
        let mut a = Account::new(id, name);
        a.removed = true;
        a
    }

    /// Stream routes for a publish on `subject` in this account (allocates; cache per shard).
    pub fn stream_routes_for(&self, subject: &[u8]) -> Vec<&StreamRoute> {
        if self.stream_route_list.is_empty() {
            return Vec::new();
        }
        let r = self.stream_routes.matches_uncached(subject);
        r.plain
            .iter()
            .filter_map(|i| self.stream_route_list.get(*i as usize))
            .collect()
    }

    /// The service imports a publish on `subject` goes to, in the order they were configured
    /// (allocates). A request matching several goes to each, as in nats-server.
    pub fn service_imports_for(&self, subject: &[u8]) -> Vec<&ServiceImport> {
        if self.service_import_list.is_empty() {
            return Vec::new();
        }
        let mut idx: Vec<u32> = self
            .service_imports
            .matches_uncached(subject)
            .plain
            .to_vec();
        idx.sort_unstable();
        idx.dedup();
        idx.iter()
            .filter_map(|i| self.service_import_list.get(*i as usize))
            .collect()
    }

    /// The first service import a publish on `subject` goes to, if any.
    pub fn service_import_for(&self, subject: &[u8]) -> Option<&ServiceImport> {
        self.service_imports_for(subject).into_iter().next()
    }

    /// The mapping for `subject`, if any (allocates; cache per shard). First inserted wins on overlap.
    pub fn mapping_for(&self, subject: &[u8]) -> Option<&Mapping> {
        if self.mapping_list.is_empty() {
            return None;
        }
        let r = self.mappings.matches_uncached(subject);
        let i = r.plain.iter().min()?;
        self.mapping_list.get(*i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_pick_by_weight() {
        let a = SubjectTransform::template("x", "a").unwrap();
        let b = SubjectTransform::template("x", "b").unwrap();
        let m = Mapping {
            source: "x".into(),
            destinations: vec![(a.clone(), 50), (b.clone(), 30)],
        };
        assert_eq!(m.pick(0), Some(&a));
        assert_eq!(m.pick(49), Some(&a));
        assert_eq!(m.pick(50), Some(&b));
        assert_eq!(m.pick(79), Some(&b));
        assert_eq!(m.pick(80), None);
        let one = Mapping {
            source: "x".into(),
            destinations: vec![(a.clone(), 100)],
        };
        assert_eq!(one.pick(99), Some(&a));
    }
}
