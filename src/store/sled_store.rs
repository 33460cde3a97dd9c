//! The embedded store on sled 0.34: one tree per keyspace, every commit one multi-tree
//! transaction followed by one explicit flush. Only the single writer of the application layer
//! calls [`Store::commit`], so transactions never conflict and `flush` is never called from two
//! threads at once (concurrent `flush_async` deadlocks in sled 0.34.7, issue #1308).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::{self, File, TryLockError};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::chain::{ChainHash, ChainHead};
use super::index::{self, IndexChanges, IndexEntry};
use super::records::{self, Sources, StatusRecord};
use super::{
    Change, EventScope, ListPage, ListQuery, LoggedEvent, RequestKey, RequestRecord, Store,
    StoreError, Verification, View, keys,
};
use crate::domain::statistics::ProposalFacts;
use crate::domain::{
    Claim, EVENT_SCHEMA_VERSION, Handling, Proposal, ProposalId, RecordedEvent, overdue,
};

/// The on-disk layout version of this store (trees and key encodings), checked at open.
/// Format 2: events carry their chain hash; projections are split into status, registration
/// and reply; the unit-events index. Format 3: the registration and the reply are no longer
/// copied into trees of their own; the status names the events they are read from. Format 4:
/// the status also holds the title and proposers, so a basic view is the status alone. Format 5:
/// events are keyed by proposal and sequence, so a proposal's events are adjacent; the `log`
/// tree keeps the global order (position → event key), replacing the `history` index.
/// Format 6: the status holds the handlings (a proposal's units, each with its receipt,
/// contacts and extensions); a format-5 store is upgraded in place when opened.
/// Format 7: the `facts` tree (each proposal's statistics facts, by committee and session), so
/// a session's statistics are one range read; a format-5 or 6 store is upgraded in place.
const FORMAT_VERSION: u32 = 7;
const FORMAT_KEY: &[u8] = b"format";

/// How to open the embedded store.
#[derive(Clone, Debug)]
pub struct SledOptions {
    /// sled's page cache, in bytes. It does not bound resident memory: sled's table of pages
    /// grows with the data, and more with the pages read (BENCHMARKS.md, the scale runs).
    pub cache_capacity: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            cache_capacity: 256 * 1024 * 1024,
        }
    }
}

// Indexes into `SledStore::trees`, the order in which they are opened.
pub(super) const EVENTS: usize = 0;
pub(super) const LOG: usize = 1;
pub(super) const PROPOSALS: usize = 2;
pub(super) const BY_NUMBER: usize = 3;
pub(super) const BY_DOCUMENT: usize = 4;
pub(super) const BY_STATE: usize = 5;
pub(super) const BY_UNIT: usize = 6;
pub(super) const REQUESTS: usize = 7;
pub(super) const UNIT_EVENTS: usize = 8;
pub(super) const FACTS: usize = 9;
pub(super) const TREE_NAMES: [&str; 10] = [
    "events",
    "log",
    "proposals",
    "by_number",
    "by_document",
    "by_state",
    "by_unit",
    "requests",
    "unit_events",
    "facts",
];

/// The sled-backed [`Store`]. Holds an exclusive lock on its data directory while open.
pub struct SledStore {
    db: sled::Db,
    pub(super) trees: Vec<sled::Tree>,
    watermark: Watermark,
    /// sled's own flush makes its log durable with `sync_file_range`, which neither flushes
    /// the drive's write cache nor the file's size; `fdatasync` on this handle does both.
    db_file: File,
    /// sled writes values too large for its log (over 128 KiB per node) to files in `blobs/`
    /// and never syncs them; `sync` does, once per new file. Names already synced.
    synced_blobs: std::sync::Mutex<std::collections::HashSet<std::ffi::OsString>>,
    blob_dir: PathBuf,
    /// The last stored event's position and hash: where the next commit's chain continues.
    /// Only the single writer commits, so this is never contended; it is advanced only after
    /// a commit succeeded.
    head: std::sync::Mutex<ChainHead>,
    // Held for the store's lifetime: the OS releases the lock when the file is closed.
    _lock: File,
}

/// Where an index entry lives: its tree, key and value.
pub(super) fn index_entry(entry: &IndexEntry) -> (usize, Vec<u8>, Vec<u8>) {
    match entry {
        IndexEntry::Claim(
            Claim::ProposalNumber {
                committee,
                session,
                number,
            },
            id,
        ) => (
            BY_NUMBER,
            keys::number(committee, session, *number),
            id.as_bytes().to_vec(),
        ),
        IndexEntry::Claim(Claim::DocumentNumber(document_number), id) => (
            BY_DOCUMENT,
            keys::document(document_number),
            id.as_bytes().to_vec(),
        ),
        IndexEntry::State(state, id) => (BY_STATE, keys::state(*state, *id).to_vec(), Vec::new()),
        IndexEntry::Unit(unit, id) => (BY_UNIT, keys::unit(unit, *id), Vec::new()),
        IndexEntry::UnitEvent {
            unit,
            position,
            proposal_id,
            sequence,
        } => (
            UNIT_EVENTS,
            keys::unit_event(unit, *position),
            keys::event(*proposal_id, *sequence).to_vec(),
        ),
    }
}

/// One write of a commit, prepared before the transaction so that the transaction closure
/// (which sled may run more than once) only replays it.
enum Write {
    Insert(usize, Vec<u8>, Vec<u8>),
    Remove(usize, Vec<u8>),
}

/// Opens sled's database in `dir`. The caller holds the directory's `LOCK`, so no other store
/// has it open; if sled still finds its own file lock taken, a store of this process that was
/// just dropped is still stopping sled's flusher thread (which releases the lock when it ends):
/// that is waited for, up to two seconds.
fn open_sled(dir: &Path, options: &SledOptions) -> sled::Result<sled::Db> {
    let config = sled::Config::new()
        .path(sled_dir(dir))
        .cache_capacity(options.cache_capacity);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match config.open() {
            // sled 0.34.7 reports it as an `Other` error with this text (config.rs).
            Err(sled::Error::Io(e))
                if e.to_string().starts_with("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, refusing a directory another server holds and one
    /// written in a format this build does not know.
    pub fn open(dir: &Path, options: &SledOptions) -> Result<Self, StoreError> {
        let path = dir.display().to_string();
        fs::create_dir_all(dir).map_err(|e| StoreError::Io(format!("creating {path}: {e}")))?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))
            .map_err(|e| StoreError::Io(format!("opening {path}/LOCK: {e}")))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(StoreError::InUse { path }),
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::Io(format!("locking {path}/LOCK: {e}")));
            }
        }
        let db = open_sled(dir, options).map_err(|e| open_error(&path, e))?;
        let trees = TREE_NAMES
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| open_error(&path, e))?;
        let db_file = File::open(sled_dir(dir).join("db"))
            .map_err(|e| StoreError::Io(format!("opening sled's data file in {path}: {e}")))?;
        let store = Self {
            db,
            trees,
            head: std::sync::Mutex::new(ChainHead::EMPTY),
            db_file,
            synced_blobs: Default::default(),
            blob_dir: sled_dir(dir).join("blobs"),
            watermark: Watermark::new(dir.join("WATERMARK")),
            _lock: lock,
        };
        store.check_format(&path)?;
        store.check_watermark(&path)?;
        if let Some((position, logged)) = store.newest_event()? {
            *store.head.lock().expect("not shared yet") = ChainHead {
                position,
                hash: logged.hash,
            };
        }
        Ok(store)
    }

    /// Stamps a new store with its format, and refuses one stamped by an unknown format.
    fn check_format(&self, path: &str) -> Result<(), StoreError> {
        match self.db.get(FORMAT_KEY).map_err(io)? {
            Some(found) if found.as_ref() == FORMAT_VERSION.to_be_bytes() => {}
            Some(found) if found.as_ref() == 5u32.to_be_bytes() => {
                self.upgrade_from_5()?;
                self.upgrade_from_6()?;
            }
            Some(found) if found.as_ref() == 6u32.to_be_bytes() => self.upgrade_from_6()?,
            Some(found) => {
                return Err(StoreError::UnsupportedFormat {
                    path: path.to_owned(),
                    found: match <[u8; 4]>::try_from(found.as_ref()) {
                        Ok(version) => u32::from_be_bytes(version).to_string(),
                        Err(_) => format!("{:?}", found.as_ref()),
                    },
                    supported: FORMAT_VERSION,
                });
            }
            None if self.trees[EVENTS].is_empty() => {
                self.db
                    .insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
                    .map_err(io)?;
                self.db.flush().map_err(io)?;
            }
            None => {
                return Err(StoreError::Corrupt(format!(
                    "{path} holds events but no format stamp"
                )));
            }
        }
        // The newest event must decode: a cheap check that catches a damaged tail at open.
        self.newest_event()?;
        Ok(())
    }

    /// Format 5 → 6: every proposal that was ever assigned gets the handlings its events
    /// describe (format 5 had no handlings, and only assignments and returns made them), then
    /// the store is stamped 6. Idempotent: an upgrade cut short runs again at the next open.
    fn upgrade_from_5(&self) -> Result<(), StoreError> {
        for entry in self.trees[PROPOSALS].iter() {
            let (key, value) = entry.map_err(io)?;
            let mut status: StatusRecord = decode(&value, "a proposal's status")?;
            if status.handling_unit.is_none() {
                continue;
            }
            let id =
                ProposalId::from_bytes(key.as_ref().try_into().map_err(|_| {
                    StoreError::Corrupt("malformed key in the proposals tree".into())
                })?);
            let events = self.history(id, 0, usize::MAX)?;
            let folded = crate::domain::fold(events.iter().map(|logged| &logged.event));
            status.handlings = folded.map(|p| p.handlings).unwrap_or_default();
            self.trees[PROPOSALS]
                .insert(key, encode(&status)?)
                .map_err(io)?;
        }
        self.db
            .insert(FORMAT_KEY, &6u32.to_be_bytes())
            .map_err(io)?;
        self.db.flush().map_err(io)?;
        tracing::info!("upgraded the store from format 5 to format 6");
        Ok(())
    }

    /// Format 6 → 7: every proposal's statistics facts, computed from its events, then the
    /// store is stamped 7. Idempotent: an upgrade cut short runs again at the next open.
    fn upgrade_from_6(&self) -> Result<(), StoreError> {
        let mut upgraded = 0u64;
        for entry in self.trees[PROPOSALS].iter() {
            let (key, value) = entry.map_err(io)?;
            let status: StatusRecord = decode(&value, "a proposal's status")?;
            let id =
                ProposalId::from_bytes(key.as_ref().try_into().map_err(|_| {
                    StoreError::Corrupt("malformed key in the proposals tree".into())
                })?);
            let events = self.history(id, 0, usize::MAX)?;
            let facts = ProposalFacts::of_history(events.iter().map(|logged| &logged.event));
            self.trees[FACTS]
                .insert(
                    keys::facts(&status.committee, &status.session, id),
                    encode(&facts)?,
                )
                .map_err(io)?;
            upgraded += 1;
        }
        self.db
            .insert(FORMAT_KEY, &FORMAT_VERSION.to_be_bytes())
            .map_err(io)?;
        self.db.flush().map_err(io)?;
        tracing::info!(
            proposals = upgraded,
            "upgraded the store from format 6 to format {FORMAT_VERSION}"
        );
        Ok(())
    }

    /// The last event of the log and its position, checked to be the event the log names.
    fn newest_event(&self) -> Result<Option<(u64, LoggedEvent)>, StoreError> {
        let Some((key, value)) = self.trees[LOG].last().map_err(io)? else {
            return Ok(None);
        };
        let position = keys::position(&key)
            .ok_or_else(|| StoreError::Corrupt("malformed key in the log".into()))?;
        let logged = self.events_at(std::iter::once(Ok(value)))?.remove(0);
        if logged.event.position != position {
            return Err(StoreError::Corrupt(format!(
                "the newest position in the log is {position}, but the event it names says \
                 position {}",
                logged.event.position
            )));
        }
        Ok(Some((position, logged)))
    }

    /// sled treats a log segment that fails its checksum as the torn end of the log and
    /// silently drops it and everything after it. The watermark, a position known to have been
    /// durable, turns that silent loss into a refusal to start.
    fn check_watermark(&self, path: &str) -> Result<(), StoreError> {
        let acknowledged = self.watermark.read()?;
        let last = self.last_position()?;
        if last < acknowledged {
            return Err(StoreError::Corrupt(format!(
                "the event log in {path} ends at position {last}, but position {acknowledged} \
                 was durably stored before: the data files are damaged or were replaced; \
                 restore the directory from a backup"
            )));
        }
        Ok(())
    }

    /// Makes everything written so far durable: sled's flush, then `fsync` of the blob files
    /// it wrote and `fdatasync` of its log file.
    fn sync(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(io)?;
        self.sync_blobs()?;
        self.db_file
            .sync_data()
            .map_err(|e| StoreError::Io(format!("syncing sled's data file: {e}")))
    }

    fn sync_blobs(&self) -> Result<(), StoreError> {
        let failed =
            |e: std::io::Error| StoreError::Io(format!("syncing {}: {e}", self.blob_dir.display()));
        let mut synced = lock(&self.synced_blobs);
        let mut present = std::collections::HashSet::new();
        let mut any_new = false;
        let entries = match fs::read_dir(&self.blob_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(failed(e)),
        };
        for entry in entries {
            let entry = entry.map_err(failed)?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                match File::open(entry.path()) {
                    Ok(file) => file.sync_all().map_err(failed)?,
                    // sled removed a blob it no longer needs: nothing to make durable.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(failed(e)),
                }
                any_new = true;
            }
            present.insert(name);
        }
        if any_new {
            File::open(&self.blob_dir)
                .and_then(|dir| dir.sync_all())
                .map_err(failed)?;
        }
        *synced = present;
        Ok(())
    }

    pub(super) fn get<T: DeserializeOwned>(
        &self,
        tree: usize,
        key: &[u8],
        what: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.trees[tree].get(key).map_err(io)? {
            Some(bytes) => decode(&bytes, what).map(Some),
            None => Ok(None),
        }
    }

    fn get_id(&self, tree: usize, key: &[u8]) -> Result<Option<ProposalId>, StoreError> {
        match self.trees[tree].get(key).map_err(io)? {
            Some(bytes) => id_value(tree, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every write of one change, derived from the proposal before and after it. `head` is
    /// the chain's end before the change and is advanced over its events; the events' hashes
    /// are appended to `hashes`. `sources` holds the sources of the proposals changed earlier
    /// in the same commit (not stored yet) and is updated with this change's.
    fn writes_for(
        &self,
        change: &Change,
        head: &mut ChainHead,
        sources: &mut HashMap<ProposalId, Sources>,
        facts: &mut HashMap<ProposalId, ProposalFacts>,
        writes: &mut Vec<Write>,
        hashes: &mut Vec<ChainHash>,
    ) -> Result<(), StoreError> {
        let Change {
            before,
            after,
            events,
            request,
        } = change;
        let id = after.id;
        for event in events {
            let (hash, bytes) = head.extend(event)?;
            hashes.push(hash);
            let mut value = Vec::with_capacity(hash.len() + bytes.len());
            value.extend_from_slice(&hash);
            value.extend_from_slice(&bytes);
            let key = keys::event(id, event.sequence).to_vec();
            writes.push(Write::Insert(
                LOG,
                keys::log(event.position).to_vec(),
                key.clone(),
            ));
            writes.push(Write::Insert(EVENTS, key, value));
        }
        let sources_before = match (before, sources.get(&id)) {
            (None, _) => None,
            (Some(_), Some(earlier)) => Some(*earlier),
            (Some(_), None) => Some(
                self.status(id)?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!("proposal {id} changes but is not stored"))
                    })?
                    .sources,
            ),
        };
        let after_sources = Sources::after(sources_before, events)
            .filter(|s| s.reply.is_some() == after.reply.is_some())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the events of a change to proposal {id} do not account for its \
                     registration and reply"
                ))
            })?;
        sources.insert(id, after_sources);
        writes.push(Write::Insert(
            PROPOSALS,
            keys::proposal(id).to_vec(),
            encode(&records::status(after, after_sources))?,
        ));
        let unchanged = before
            .as_deref()
            .is_some_and(|before| ProposalFacts::unchanged_by(before, events, after));
        if !unchanged {
            self.facts_writes(change, facts, writes)?;
        }
        let IndexChanges { removed, added } = index::changes_of(change);
        for entry in removed {
            let (tree, key, _) = index_entry(&entry);
            writes.push(Write::Remove(tree, key));
        }
        for entry in added {
            let (tree, key, value) = index_entry(&entry);
            writes.push(Write::Insert(tree, key, value));
        }
        if let Some((request_id, record)) = request {
            writes.push(Write::Insert(
                REQUESTS,
                keys::request(request_id.as_str()),
                records::encode_request(record),
            ));
        }
        Ok(())
    }

    /// The write of a change's proposal's statistics facts: the facts before it (from
    /// `facts`, the commit's own, or the store), moved past its events.
    fn facts_writes(
        &self,
        change: &Change,
        facts: &mut HashMap<ProposalId, ProposalFacts>,
        writes: &mut Vec<Write>,
    ) -> Result<(), StoreError> {
        let Change {
            before,
            after,
            events,
            request: _,
        } = change;
        let id = after.id;
        let facts_key = keys::facts(&after.committee, &after.session, id);
        let proposal_facts = match (before, facts.entry(id)) {
            (_, Entry::Occupied(earlier)) => earlier.into_mut(),
            (None, Entry::Vacant(new)) => new.insert(ProposalFacts::default()),
            (Some(_), Entry::Vacant(stored)) => stored.insert(
                self.get(FACTS, &facts_key, "a proposal's facts")?
                    .unwrap_or_default(),
            ),
        };
        proposal_facts.record_change(before.as_deref(), events, after);
        writes.push(Write::Insert(FACTS, facts_key, encode(&*proposal_facts)?));
        Ok(())
    }

    /// The index (tree and key prefix) that serves `query` best; filters the index does not
    /// cover are checked on each proposal it yields.
    fn plan(query: &ListQuery) -> (usize, Vec<u8>) {
        if let Some(unit) = &query.handling_unit {
            (BY_UNIT, keys::unit_prefix(unit))
        } else if let Some(state) = query.state {
            (BY_STATE, keys::state_prefix(state).to_vec())
        } else if let Some(committee) = &query.committee {
            (
                BY_NUMBER,
                keys::number_prefix(committee, query.session.as_deref()),
            )
        } else {
            (PROPOSALS, Vec::new())
        }
    }
}

impl SledStore {
    /// The proposal an index entry points at: index values hold the id for the number index,
    /// the other indexes end their keys with it.
    fn indexed_id(tree: usize, key: &[u8], value: &[u8]) -> Result<ProposalId, StoreError> {
        if tree == BY_NUMBER {
            id_value(tree, value)
        } else {
            keys::trailing_id(key).ok_or_else(|| {
                StoreError::Corrupt(format!("malformed key in {}", TREE_NAMES[tree]))
            })
        }
    }

    fn status(&self, id: ProposalId) -> Result<Option<StatusRecord>, StoreError> {
        self.get(PROPOSALS, &keys::proposal(id), "a proposal's status")
    }

    /// The proposal whose status is `status`; for the full view with its content and reply read
    /// from the events the status names.
    pub(super) fn complete(
        &self,
        id: ProposalId,
        status: StatusRecord,
        view: View,
    ) -> Result<Proposal, StoreError> {
        if view == View::Basic {
            // A split unit's draft is in its handling's record; the basic view leaves it out
            // too, as it does the proposal's own.
            let mut proposal = records::assemble(id, status, String::new(), None);
            for part in proposal
                .handlings
                .iter_mut()
                .filter_map(|h| h.split.as_mut())
            {
                part.reply = None;
            }
            return Ok(proposal);
        }
        let Sources {
            registration,
            reply,
        } = status.sources;
        let wrong = |what: &str, sequence: u64| {
            StoreError::Corrupt(format!(
                "proposal {id}'s {what} is said to be in its event {sequence}, which does not \
                 carry it"
            ))
        };
        let content = self
            .source_event(id, registration)?
            .and_then(|event| event.data.into_content())
            .ok_or_else(|| wrong("registration", registration))?;
        let reply = match reply {
            Some(sequence) => Some(
                self.source_event(id, sequence)?
                    .and_then(|event| event.data.into_reply())
                    .ok_or_else(|| wrong("reply", sequence))?,
            ),
            None => None,
        };
        Ok(records::assemble(id, status, content, reply))
    }

    /// Proposal `id`'s event `sequence`, if it is stored.
    fn source_event(
        &self,
        id: ProposalId,
        sequence: u64,
    ) -> Result<Option<RecordedEvent>, StoreError> {
        match self.trees[EVENTS]
            .get(keys::event(id, sequence))
            .map_err(io)?
        {
            Some(bytes) => decoded_at(id, sequence, &bytes).map(|logged| Some(logged.event)),
            None => Ok(None),
        }
    }

    /// The events under the [`keys::event`] keys `keys` yields, in that order.
    fn events_at(
        &self,
        keys: impl Iterator<Item = Result<sled::IVec, StoreError>>,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let mut events = Vec::new();
        for key in keys {
            let key = key?;
            let (id, sequence) = keys::event_parts(&key).ok_or_else(|| {
                StoreError::Corrupt(format!("an index holds a malformed event key {key:?}"))
            })?;
            let bytes = self.trees[EVENTS].get(&key).map_err(io)?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "an index points at event {sequence} of proposal {id}, which is missing"
                ))
            })?;
            events.push(decoded_at(id, sequence, &bytes)?);
        }
        Ok(events)
    }
}

/// Whether a stored status matches a listing's filters (the unit and role those of one of its
/// handlings).
fn matches(query: &ListQuery, status: &StatusRecord) -> bool {
    let ListQuery {
        state,
        handling_unit,
        committee,
        session,
        proposer_kind,
        overdue_on,
        handling_role,
        key_only,
        proposer,
        limit: _,
        after: _,
        view: _,
    } = query;
    let handling = |h: &&Handling| {
        handling_unit.as_deref().is_none_or(|u| h.unit == u)
            && handling_role.is_none_or(|r| h.role == r)
    };
    // With a unit filter, a split unit's own part stands for the proposal: its state, its due
    // date and its reply's issue date.
    let part = handling_unit.as_deref().and_then(|u| {
        let h = status.handlings.iter().find(|h| h.unit == u)?;
        Some((h, h.split.as_deref()?))
    });
    let (now, is_overdue) = match part {
        Some((h, part)) => (
            part.state,
            overdue_on.is_none_or(|day| overdue(h.due_date, part.state, part.issue_date, &[], day)),
        ),
        None => (
            status.state,
            overdue_on.is_none_or(|day| {
                overdue(
                    status.due_date,
                    status.state,
                    status.issue_date,
                    &status.handlings,
                    day,
                )
            }),
        ),
    };
    state.is_none_or(|s| s == now)
        && (!key_only || status.key.is_some())
        && proposer
            .as_deref()
            .is_none_or(|name| status.proposers.iter().any(|p| p == name))
        && proposer_kind.is_none_or(|k| k == status.proposer_kind)
        && is_overdue
        && ((handling_unit.is_none() && handling_role.is_none())
            || status.handlings.iter().any(|h| handling(&h)))
        && committee.as_deref().is_none_or(|c| c == status.committee)
        && session.as_deref().is_none_or(|s| s == status.session)
}

/// The highest event position known to be durable, kept in a small file beside sled's own,
/// rewritten atomically (write, fsync, rename) at most once a second and at every clean flush.
struct Watermark {
    path: PathBuf,
    last_written: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Watermark {
    const INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

    fn new(path: PathBuf) -> Self {
        Self {
            path,
            last_written: std::sync::Mutex::new(None),
        }
    }

    /// The recorded position; 0 if none was recorded yet.
    fn read(&self) -> Result<u64, StoreError> {
        match fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse().map_err(|_| {
                StoreError::Corrupt(format!("{} does not hold a position", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(StoreError::Io(format!(
                "reading {}: {e}",
                self.path.display()
            ))),
        }
    }

    /// Records `position` as durable; unless `now`, skips it if the last record is recent.
    fn record(&self, position: u64, now: bool) -> Result<(), StoreError> {
        let mut last_written = lock(&self.last_written);
        if !now && last_written.is_some_and(|at| at.elapsed() < Self::INTERVAL) {
            return Ok(());
        }
        let failed =
            |e: std::io::Error| StoreError::Io(format!("writing {}: {e}", self.path.display()));
        let temporary = self.path.with_extension("tmp");
        let mut file = File::create(&temporary).map_err(failed)?;
        std::io::Write::write_all(&mut file, format!("{position}\n").as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        fs::rename(&temporary, &self.path).map_err(failed)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(failed)?;
        }
        *last_written = Some(std::time::Instant::now());
        Ok(())
    }
}

/// A proposal id stored as an index value (the number and document indexes).
fn id_value(tree: usize, value: &[u8]) -> Result<ProposalId, StoreError> {
    let id: [u8; 16] = value.try_into().map_err(|_| {
        StoreError::Corrupt(format!("index {} holds a malformed id", TREE_NAMES[tree]))
    })?;
    Ok(ProposalId::from_bytes(id))
}

fn sled_dir(dir: &Path) -> PathBuf {
    dir.join("sled")
}

fn open_error(path: &str, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { at, bt: _ } => StoreError::Corrupt(format!(
            "sled found corruption in {path} at {at:?}; restore the directory from a backup"
        )),
        sled::Error::Unsupported(what) => StoreError::Corrupt(format!("{path}: {what}")),
        other => StoreError::Io(format!("opening {path}: {other}")),
    }
}

pub(super) fn io(e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { at, bt: _ } => {
            StoreError::Corrupt(format!("sled found corruption at {at:?}"))
        }
        other => StoreError::Io(other.to_string()),
    }
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Io(format!("encoding a record: {e}")))
}

pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Decodes the event stored under proposal `id`'s `sequence`, refusing one that says otherwise.
pub(super) fn decoded_at(
    id: ProposalId,
    sequence: u64,
    value: &[u8],
) -> Result<LoggedEvent, StoreError> {
    let logged = decode_logged(value)?;
    match misplaced(id, sequence, &logged.event) {
        Some(problem) => Err(StoreError::Corrupt(problem)),
        None => Ok(logged),
    }
}

/// Why `event`, stored as proposal `id`'s event `sequence`, is not that event; `None` if it is.
pub(super) fn misplaced(id: ProposalId, sequence: u64, event: &RecordedEvent) -> Option<String> {
    ((event.proposal_id, event.sequence) != (id, sequence)).then(|| {
        format!(
            "the event stored as proposal {id}'s event {sequence} says it is proposal {}'s \
             event {}",
            event.proposal_id, event.sequence
        )
    })
}

/// Decodes a stored event (its chain hash, then its canonical bytes), refusing one written by
/// a newer schema than this build knows.
pub(super) fn decode_logged(value: &[u8]) -> Result<LoggedEvent, StoreError> {
    let Some((hash, bytes)) = value.split_first_chunk::<32>() else {
        return Err(StoreError::Corrupt("an event record is too short".into()));
    };
    let event: RecordedEvent = decode(bytes, "an event")?;
    if event.schema > EVENT_SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "event at position {} has schema {}, newer than this build's {}",
            event.position, event.schema, EVENT_SCHEMA_VERSION
        )));
    }
    Ok(LoggedEvent { event, hash: *hash })
}

/// Locks a mutex, recovering from poisoning: the guarded values stay valid if a holder panicked.
pub(super) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The embedded store's own, synchronous interface: the [`Store`] implementation below runs
/// these, and tools holding a `SledStore` (the bulk loader, tests) call them directly.
impl SledStore {
    /// As [`Store::proposal`], synchronously.
    pub fn proposal(&self, id: ProposalId, view: View) -> Result<Option<Proposal>, StoreError> {
        match self.status(id)? {
            Some(status) => self.complete(id, status, view).map(Some),
            None => Ok(None),
        }
    }

    /// As [`Store::history`], synchronously.
    pub fn history(
        &self,
        id: ProposalId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let start = keys::event(id, after_sequence.saturating_add(1));
        let end = keys::event(id, u64::MAX);
        self.trees[EVENTS]
            .range(start..=end)
            .take(limit)
            .map(|entry| decoded_entry(id, entry))
            .collect()
    }

    /// As [`Store::events`], synchronously.
    pub fn events(
        &self,
        scope: EventScope<'_>,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let first = after_position.saturating_add(1);
        match scope {
            EventScope::All => self.events_at(
                self.trees[LOG]
                    .range(keys::log(first)..)
                    .take(limit)
                    .map(|entry| Ok(entry.map_err(io)?.1)),
            ),
            EventScope::Unit(unit) => {
                let prefix = keys::unit_prefix(unit);
                let keys = self.trees[UNIT_EVENTS]
                    .range(keys::unit_event(unit, first)..)
                    .take_while(|entry| {
                        entry
                            .as_ref()
                            .map_or(true, |(key, _)| key.starts_with(&prefix))
                    })
                    .take(limit)
                    .map(|entry| Ok(entry.map_err(io)?.1));
                self.events_at(keys)
            }
            EventScope::Proposal(id) => self.trees[EVENTS]
                .range(keys::event(id, 1)..=keys::event(id, u64::MAX))
                .map(|entry| decoded_entry(id, entry))
                .filter(|logged| logged.as_ref().map_or(true, |l| l.event.position >= first))
                .take(limit)
                .collect(),
        }
    }

    /// As [`Store::list`], synchronously.
    pub fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        let (tree, prefix) = Self::plan(query);
        let start = match &query.after {
            Some(after) if after.as_slice() >= prefix.as_slice() => Bound::Excluded(after.clone()),
            _ => Bound::Included(prefix.clone()),
        };
        let mut page = ListPage::default();
        let mut last_key = None;
        for entry in self.trees[tree].range::<Vec<u8>, _>((start, Bound::Unbounded)) {
            let (key, value) = entry.map_err(io)?;
            if !key.starts_with(&prefix) {
                break;
            }
            let (id, status) = if tree == PROPOSALS {
                let id = keys::trailing_id(&key)
                    .ok_or_else(|| StoreError::Corrupt("malformed key in proposals".into()))?;
                (id, decode(&value, "a proposal's status")?)
            } else {
                let id = Self::indexed_id(tree, &key, &value)?;
                let status = self.status(id)?.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "{} names proposal {id}, which is not stored",
                        TREE_NAMES[tree]
                    ))
                })?;
                (id, status)
            };
            if !matches(query, &status) {
                continue;
            }
            if page.proposals.len() >= query.limit {
                // A further match exists, so the page is full and another one follows.
                page.next = last_key;
                break;
            }
            page.proposals.push(self.complete(id, status, query.view)?);
            last_key = Some(key.to_vec());
        }
        Ok(page)
    }

    /// As [`Store::claimed_by`], synchronously.
    pub fn claimed_by(&self, claim: &Claim) -> Result<Option<ProposalId>, StoreError> {
        match claim {
            Claim::ProposalNumber {
                committee,
                session,
                number,
            } => self.get_id(BY_NUMBER, &keys::number(committee, session, *number)),
            Claim::DocumentNumber(document_number) => {
                self.get_id(BY_DOCUMENT, &keys::document(document_number))
            }
        }
    }

    /// As [`Store::request`], synchronously.
    pub fn request(&self, key: &RequestKey) -> Result<Option<RequestRecord>, StoreError> {
        match self.trees[REQUESTS]
            .get(keys::request(key.as_str()))
            .map_err(io)?
        {
            Some(bytes) => records::decode_request(&bytes).map(Some),
            None => Ok(None),
        }
    }

    /// As [`Store::session_facts`], synchronously: one range read of the facts tree.
    pub fn session_facts(
        &self,
        committee: &str,
        session: &str,
    ) -> Result<Vec<ProposalFacts>, StoreError> {
        self.trees[FACTS]
            .scan_prefix(keys::number_prefix(committee, Some(session)))
            .map(|entry| decode(&entry.map_err(io)?.1, "a proposal's facts"))
            .collect()
    }

    /// As [`Store::last_position`], synchronously.
    pub fn last_position(&self) -> Result<u64, StoreError> {
        match self.trees[LOG].last().map_err(io)? {
            Some((key, _)) => keys::position(&key)
                .ok_or_else(|| StoreError::Corrupt("malformed key in the log".into())),
            None => Ok(0),
        }
    }

    /// As [`Store::commit`], synchronously.
    pub fn commit(&self, changes: &[Change]) -> Result<Vec<ChainHash>, StoreError> {
        let mut head = *lock(&self.head);
        let mut writes = Vec::new();
        let mut hashes = Vec::new();
        let mut sources = HashMap::new();
        let mut facts = HashMap::new();
        for change in changes {
            self.writes_for(
                change,
                &mut head,
                &mut sources,
                &mut facts,
                &mut writes,
                &mut hashes,
            )?;
        }
        self.trees
            .as_slice()
            .transaction(|trees| {
                for write in &writes {
                    match write {
                        Write::Insert(tree, key, value) => {
                            trees[*tree].insert(key.as_slice(), value.as_slice())?;
                        }
                        Write::Remove(tree, key) => {
                            trees[*tree].remove(key.as_slice())?;
                        }
                    }
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => io(e),
                TransactionError::Abort(()) => StoreError::Io("transaction aborted".into()),
            })?;
        self.sync()?;
        // Only now is the batch durable: the chain moves on, and the watermark (at most once a
        // second) remembers how far.
        *lock(&self.head) = head;
        if !hashes.is_empty() {
            self.watermark.record(head.position, false)?;
        }
        Ok(hashes)
    }

    /// As [`Store::flush`], synchronously.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.sync()?;
        self.watermark.record(self.last_position()?, true)
    }
}

/// The embedded store behind the [`Store`] interface. sled never waits on a network: each
/// future runs the synchronous method above inline and is ready when first polled. Reads are
/// in-memory for cached data; `commit` and `flush` are called only from the writer's own
/// thread (and at shutdown), `verify` from a blocking task.
#[async_trait]
impl Store for SledStore {
    async fn proposal(&self, id: ProposalId, view: View) -> Result<Option<Proposal>, StoreError> {
        SledStore::proposal(self, id, view)
    }

    async fn history(
        &self,
        id: ProposalId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        SledStore::history(self, id, after_sequence, limit)
    }

    async fn events(
        &self,
        scope: EventScope<'_>,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        SledStore::events(self, scope, after_position, limit)
    }

    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        SledStore::list(self, query)
    }

    async fn claimed_by(&self, claim: &Claim) -> Result<Option<ProposalId>, StoreError> {
        SledStore::claimed_by(self, claim)
    }

    async fn request(&self, key: &RequestKey) -> Result<Option<RequestRecord>, StoreError> {
        SledStore::request(self, key)
    }

    async fn session_facts(
        &self,
        committee: &str,
        session: &str,
    ) -> Result<Vec<ProposalFacts>, StoreError> {
        SledStore::session_facts(self, committee, session)
    }

    async fn last_position(&self) -> Result<u64, StoreError> {
        SledStore::last_position(self)
    }

    async fn commit(&self, changes: &[Change]) -> Result<Vec<ChainHash>, StoreError> {
        SledStore::commit(self, changes)
    }

    async fn flush(&self) -> Result<(), StoreError> {
        SledStore::flush(self)
    }

    async fn verify(&self) -> Result<Verification, StoreError> {
        SledStore::verify(self)
    }
}

/// The event of proposal `id` an entry of its range in the events tree holds.
fn decoded_entry(
    id: ProposalId,
    entry: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<LoggedEvent, StoreError> {
    let (key, value) = entry.map_err(io)?;
    match keys::event_parts(&key) {
        Some((key_id, sequence)) if key_id == id => decoded_at(id, sequence, &value),
        _ => Err(StoreError::Corrupt(format!(
            "proposal {id}'s events hold a malformed key {key:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open(dir, &SledOptions::default())
    }

    #[test]
    fn a_directory_in_use_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let first = open(dir.path()).unwrap();
        let refused = open(dir.path()).err().expect("a second open must fail");
        assert!(matches!(refused, StoreError::InUse { .. }), "{refused}");
        assert!(
            refused
                .to_string()
                .contains(&dir.path().display().to_string())
        );
        drop(first);
        open(dir.path()).expect("the lock is released with the store");
    }

    #[test]
    fn an_unknown_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path()).unwrap();
            store.db.insert(FORMAT_KEY, &99u32.to_be_bytes()).unwrap();
            store.db.flush().unwrap();
        }
        let refused = open(dir.path()).err().expect("format 99 must be refused");
        assert!(
            matches!(refused, StoreError::UnsupportedFormat { .. }),
            "{refused}"
        );
        let message = refused.to_string();
        assert!(
            message.contains(&format!(
                "has storage format 99, this build reads format {FORMAT_VERSION}"
            )) && message.contains("proposalctl export"),
            "{message}"
        );
    }

    /// Commits No. 228's registration and assignment as proposal `id`; returns it after them.
    fn received_and_assigned(store: &SledStore, id: ProposalId) -> std::sync::Arc<Proposal> {
        use crate::domain::{CommandKind, Envelope, Rules, Timestamp, decide, examples};
        let mut before: Option<std::sync::Arc<Proposal>> = None;
        for (i, kind) in [CommandKind::Receive, CommandKind::Assign]
            .into_iter()
            .enumerate()
        {
            let envelope = Envelope {
                proposal_id: id,
                position: i as u64 + 1,
                occurred_at: Timestamp::from_unix_nanos(1_569_715_200_000_000_000),
                effective_date: None,
                actor: "tester".into(),
                request_id: None,
            };
            let decision = decide(
                before.as_deref(),
                &examples::command(kind),
                envelope,
                &Rules::default(),
            )
            .unwrap();
            let after = std::sync::Arc::new(decision.after);
            store
                .commit(&[Change {
                    before: before.clone(),
                    after: after.clone(),
                    events: vec![decision.event],
                    request: None,
                }])
                .unwrap();
            before = Some(after);
        }
        before.expect("two commands committed")
    }

    /// A format-5 store (no handlings in the statuses) opens as format 6, each assigned
    /// proposal with the sole handling its assignment made, and passes verification.
    #[test]
    fn a_format_5_store_is_upgraded_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let id = ProposalId::from_bytes([5; 16]);
        {
            let store = open(dir.path()).unwrap();
            received_and_assigned(&store, id);
            let mut status = store.status(id).unwrap().unwrap();
            assert_eq!(status.handlings.len(), 1);
            status.handlings.clear();
            store.trees[PROPOSALS]
                .insert(keys::proposal(id), encode(&status).unwrap())
                .unwrap();
            store.db.insert(FORMAT_KEY, &5u32.to_be_bytes()).unwrap();
            store.db.flush().unwrap();
        }
        let store = open(dir.path()).unwrap();
        assert_eq!(
            store.db.get(FORMAT_KEY).unwrap().unwrap().as_ref(),
            FORMAT_VERSION.to_be_bytes()
        );
        let proposal = store.proposal(id, View::Full).unwrap().unwrap();
        assert_eq!(proposal.handlings.len(), 1);
        assert_eq!(proposal.handlings[0].unit, "许昌市生态环境局");
        let verification = store.verify().unwrap();
        assert!(verification.problems.is_empty(), "{verification:?}");
    }

    /// A format-6 store (no statistics facts) opens as format 7 with every proposal's facts
    /// computed from its events; damaged facts are then reported by verification.
    #[test]
    fn a_format_6_store_gets_its_facts_when_opened_and_verify_checks_them() {
        let dir = tempfile::tempdir().unwrap();
        let id = ProposalId::from_bytes([6; 16]);
        let expected = {
            let store = open(dir.path()).unwrap();
            let p = received_and_assigned(&store, id);
            let facts = store.session_facts(&p.committee, &p.session).unwrap();
            assert_eq!(facts.len(), 1);
            // Both acts on the same day: one standing, the one after the assignment.
            assert_eq!(facts[0].changes.len(), 1);
            store.trees[FACTS].clear().unwrap();
            store.db.insert(FORMAT_KEY, &6u32.to_be_bytes()).unwrap();
            store.db.flush().unwrap();
            (p.committee.clone(), p.session.clone(), facts)
        };
        let store = open(dir.path()).unwrap();
        assert_eq!(
            store.db.get(FORMAT_KEY).unwrap().unwrap().as_ref(),
            FORMAT_VERSION.to_be_bytes()
        );
        let (committee, session, facts) = expected;
        assert_eq!(store.session_facts(&committee, &session).unwrap(), facts);
        assert!(
            store
                .session_facts(&committee, "another")
                .unwrap()
                .is_empty()
        );
        let verification = store.verify().unwrap();
        assert!(verification.problems.is_empty(), "{verification:?}");
        let key = keys::facts(&committee, &session, id);
        let mut damaged = facts[0].clone();
        damaged.changes.clear();
        store.trees[FACTS]
            .insert(&key, encode(&damaged).unwrap())
            .unwrap();
        let verification = store.verify().unwrap();
        assert!(
            verification
                .problems
                .iter()
                .any(|p| p.contains("facts entry") && p.contains("differs")),
            "{verification:?}"
        );
        store.trees[FACTS].remove(&key).unwrap();
        let verification = store.verify().unwrap();
        assert!(
            verification
                .problems
                .iter()
                .any(|p| p.contains("facts lacks the entry")),
            "{verification:?}"
        );
    }

    #[test]
    fn a_damaged_newest_event_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path()).unwrap();
            let key = keys::event(ProposalId::from_bytes([1; 16]), 1);
            store.trees[LOG].insert(keys::log(1), &key).unwrap();
            store.trees[EVENTS]
                .insert(key, b"{not json".as_slice())
                .unwrap();
            store.db.flush().unwrap();
        }
        let refused = open(dir.path())
            .err()
            .expect("a damaged event must be refused");
        assert!(matches!(refused, StoreError::Corrupt(_)), "{refused}");
    }
}
