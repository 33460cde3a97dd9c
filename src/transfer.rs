//! Export and import of the whole event log as JSON Lines, for backups, moves between machines
//! and, later, between storage backends. Written against the [`Store`] trait only (no gRPC, no
//! sled), so every backend gets it for free.
//!
//! # The file
//!
//! One JSON object per line, UTF-8, `\n`-terminated:
//!
//! ```text
//! {"format":"proposal-service-events","version":1,"event_schema":2}
//! {"position":1,"hash":"<64 hex>","event":{...},"request_fingerprint":"<64 hex>"}
//! {"position":2,"hash":"<64 hex>","event":{...}}
//! ...
//! {"end":{"events":2,"head":"<64 hex>"}}
//! ```
//!
//! - The **header** says what the file is before anything is written to the store: a file that
//!   is not an export, or one written by a newer format or event schema, is refused with nothing
//!   imported. It carries no count: an export is streamed, and the end line covers that.
//! - Each **event line** holds the event's global position, its chain hash, the event exactly as
//!   stored (its canonical JSON, so SHA-256 of the previous hash followed by the `event` object's
//!   bytes as written is `hash`), and, on the event an idempotency record points at, that
//!   record's fingerprint: after an import a retry of an old request is still recognised and
//!   answered with its original result instead of being applied a second time.
//! - The **end line** gives the event count and the head hash. Without it a file cut short (a
//!   full disk, an interrupted pipe) would import as a consistent but shorter history; with it a
//!   truncated file is refused.
//!
//! Unknown fields are **refused**, in every line and inside events: the file is written by a
//! machine, so a field this build does not know means another version wrote it or someone edited
//! it, and silently dropping data is the worst thing a migration tool can do. The format evolves
//! through the header's `version`.
//!
//! # What import checks
//!
//! The chain (every hash recomputed before its batch is written, and compared again with what
//! the store computed), positions 1, 2, 3, ..., and that the history is possible: every event a
//! legal move of the lifecycle from where its proposal stood, sequences without gaps, event
//! times never running backwards, proposal numbers, document numbers and request ids unique.
//! A hand-edited file with a recomputed, consistent chain still cannot produce an impossible
//! history. Field contents (lengths, characters) are not re-validated: they were accepted under
//! the limits of their day, and an export must restore history as it was. At the end the store's
//! own [`Store::verify`] must come back clean.
//!
//! Import is streamed and commits in batches, so memory is bounded by one batch, and a failure
//! part-way leaves the events before it in the store: every error says so, and the directory
//! must then be removed before importing again.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufWriter, Read, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Claim, EVENT_SCHEMA_VERSION, EventData, Proposal, ProposalId, RecordedEvent, Timestamp, apply,
    check_recorded,
};
use crate::store::{
    ChainHash, Change, EventScope, GENESIS, RequestKey, RequestRecord, Store, StoreError, View,
    event_bytes, from_hex, link, request_key, to_hex,
};

/// The header's `format`: what kind of file this is.
pub const FORMAT_NAME: &str = "proposal-service-events";
/// The header's `version`: the layout of the lines. A change of layout is a new version.
pub const FORMAT_VERSION: u32 = 1;
/// Events read from the store per call while exporting.
const EXPORT_CHUNK: usize = 1000;
/// The most events committed together while importing...
const IMPORT_BATCH_EVENTS: usize = 1000;
/// ...and the most bytes of events and the proposals they change, so a batch of large texts
/// stays small in memory too.
const IMPORT_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// The longest line accepted. The largest possible event (100,000-character texts, every
/// character escaped) is well under 2 MiB; a longer line is not an export and is refused
/// without being read into memory whole.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    pub events: u64,
    pub proposals: u64,
    /// Idempotency records carried (as fingerprints on their events).
    pub requests: u64,
    /// The last event's hash ([`GENESIS`] for an empty log).
    pub head: ChainHash,
}

/// What an import stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    pub events: u64,
    pub proposals: u64,
    /// Idempotency records restored.
    pub requests: u64,
    /// The last event's hash, equal to the exporting store's.
    pub head: ChainHash,
}

/// Why an export or an import failed. Import errors after the first write say how many events
/// the store now holds.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export failed: {0}")]
    Write(#[source] std::io::Error),
    #[error(
        "the stored event log is damaged at position {position}: {reason}; nothing reliable can \
         be exported past it (VerifyHistory shows the extent)"
    )]
    Damaged { position: u64, reason: String },
    #[error(
        "the store already holds events (up to position {last_position}): import only into an \
         empty data directory"
    )]
    NotEmpty { last_position: u64 },
    #[error("reading line {line} failed: {source}{}", partial(*.committed))]
    Read {
        line: u64,
        #[source]
        source: std::io::Error,
        committed: u64,
    },
    #[error("line {line}: {reason}{}", partial(*.committed))]
    Malformed {
        line: u64,
        reason: String,
        committed: u64,
    },
    #[error("position {position} (line {line}): {reason}{}", partial(*.committed))]
    Rejected {
        line: u64,
        position: u64,
        reason: String,
        committed: u64,
    },
    #[error(
        "the input ends after line {lines} without the export's end line: the file is \
         truncated{}",
        partial(*.committed)
    )]
    Truncated { lines: u64, committed: u64 },
    #[error("storage failed during the import: {source}{}", partial(*.committed))]
    ImportStore {
        #[source]
        source: StoreError,
        committed: u64,
    },
    #[error(
        "all {committed} events were imported, but verification found {} problem(s), the first: \
         {}; remove the data directory",
        .problems.len(),
        .problems.first().map_or("", String::as_str)
    )]
    Unverified {
        problems: Vec<String>,
        committed: u64,
    },
}

/// The note every import error after a write carries.
fn partial(committed: u64) -> String {
    if committed == 0 {
        "; nothing was imported".to_owned()
    } else {
        format!(
            "; the store now holds the first {committed} events only (a partial import): remove \
             the data directory before importing again"
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    /// The newest event schema the exporting build wrote.
    event_schema: u16,
}

/// An event line as written: the event borrowed, serialized exactly as the store's canonical
/// bytes.
#[derive(Serialize)]
struct EventLineOut<'a> {
    position: u64,
    hash: String,
    event: &'a RecordedEvent,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_fingerprint: Option<String>,
}

/// An event line as read; the event is kept as JSON to check that it is in canonical form.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLineIn {
    position: u64,
    hash: String,
    event: serde_json::Value,
    #[serde(default)]
    request_fingerprint: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndLine {
    end: End,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    events: u64,
    head: String,
}

/// Writes every event of `store`, in log order, as JSON Lines to `out` (see the module
/// documentation for the format). Exports the log up to its last position when the export
/// starts: events are never rewritten, so that is a consistent snapshot even if a writer were
/// appending meanwhile. Checks the chain as it goes, so a damaged log is reported here rather
/// than by the import. `progress` receives the number of events written so far.
pub async fn export(
    store: &dyn Store,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, TransferError> {
    let mut out = BufWriter::new(out);
    let last = store.last_position().await?;
    let header = Header {
        format: FORMAT_NAME.to_owned(),
        version: FORMAT_VERSION,
        event_schema: EVENT_SCHEMA_VERSION,
    };
    write_line(&mut out, &header)?;
    let mut summary = ExportSummary {
        events: 0,
        proposals: 0,
        requests: 0,
        head: GENESIS,
    };
    while summary.events < last {
        let chunk = store
            .events(EventScope::All, summary.events, EXPORT_CHUNK)
            .await?;
        if chunk.is_empty() {
            return Err(TransferError::Damaged {
                position: summary.events + 1,
                reason: format!("the log ends here, but its last position is {last}"),
            });
        }
        for logged in chunk {
            let event = &logged.event;
            let position = summary.events + 1;
            if event.position != position {
                return Err(TransferError::Damaged {
                    position,
                    reason: format!("the event found there says position {}", event.position),
                });
            }
            if link(&summary.head, &event_bytes(event)?) != logged.hash {
                return Err(TransferError::Damaged {
                    position,
                    reason: "the event does not match its chain hash".to_owned(),
                });
            }
            let record = match &event.request_id {
                Some(request_id) => store
                    .request(&request_key(&event.actor, request_id))
                    .await?
                    .filter(|r| (r.proposal_id, r.version) == (event.proposal_id, event.sequence)),
                None => None,
            };
            write_line(
                &mut out,
                &EventLineOut {
                    position,
                    hash: to_hex(&logged.hash),
                    event,
                    request_fingerprint: record.as_ref().map(|r| to_hex(&r.fingerprint)),
                },
            )?;
            summary.events = position;
            summary.head = logged.hash;
            // A proposal's first event registers it.
            summary.proposals += u64::from(event.sequence == 1);
            summary.requests += u64::from(record.is_some());
            if summary.events == last {
                break;
            }
        }
        progress(summary.events);
    }
    write_line(
        &mut out,
        &EndLine {
            end: End {
                events: summary.events,
                head: to_hex(&summary.head),
            },
        },
    )?;
    out.flush().map_err(TransferError::Write)?;
    progress(summary.events);
    Ok(summary)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, value).map_err(|e| TransferError::Write(e.into()))?;
    out.write_all(b"\n").map_err(TransferError::Write)
}

/// Rebuilds a store from an export: every event, every projection and index, and the
/// idempotency records, checking the chain and that the history is possible as it goes (see
/// the module documentation). `store` must hold no events. Memory is bounded by one batch.
/// `progress` receives the number of events committed so far.
pub async fn import(
    store: &dyn Store,
    input: &mut dyn BufRead,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportSummary, TransferError> {
    let last_position = store.last_position().await?;
    if last_position != 0 {
        return Err(TransferError::NotEmpty { last_position });
    }
    let mut importer = Importer {
        store,
        line: 0,
        buffer: Vec::new(),
        summary: ImportSummary {
            events: 0,
            proposals: 0,
            requests: 0,
            head: GENESIS,
        },
        committed: 0,
        last_time: None,
        open_merge: None,
        batch: Batch::default(),
    };
    importer.read_header(input)?;
    loop {
        let Some(value) = importer.next_line(input)? else {
            return Err(TransferError::Truncated {
                lines: importer.line - 1,
                committed: importer.committed,
            });
        };
        if value.get("end").is_some() {
            importer.finish(value)?;
            break;
        }
        importer.add_event(value).await?;
        if importer.batch.is_full() {
            importer.commit().await?;
            progress(importer.committed);
        }
    }
    if importer.next_line(input)?.is_some() {
        return Err(importer.malformed("text after the end line".to_owned()));
    }
    importer.commit().await?;
    let committed = importer.committed;
    let failed = |source| TransferError::ImportStore { source, committed };
    store.flush().await.map_err(failed)?;
    let verification = store.verify().await.map_err(failed)?;
    if !verification.problems.is_empty() {
        return Err(TransferError::Unverified {
            problems: verification.problems,
            committed,
        });
    }
    progress(committed);
    Ok(importer.summary)
}

/// The import in progress: where the input is, what is committed, and the batch being built.
struct Importer<'a> {
    store: &'a dyn Store,
    /// The number of the line read last (1-based).
    line: u64,
    buffer: Vec<u8>,
    /// Counts and head over every event accepted so far, committed or in the batch.
    summary: ImportSummary,
    /// Events durably in the store.
    committed: u64,
    last_time: Option<Timestamp>,
    /// A merge whose first event was read (merged, into): the next event must be its other
    /// side.
    open_merge: Option<(Arc<Proposal>, ProposalId)>,
    batch: Batch,
}

/// Changes accepted but not yet committed, with what they claim across proposals, so that later
/// events in the batch see them as if they were already stored.
#[derive(Default)]
struct Batch {
    changes: Vec<Change>,
    /// Each change's line, position and the hash the file gives it.
    lines: Vec<(u64, u64, ChainHash)>,
    bytes: usize,
    proposals: HashMap<ProposalId, Arc<Proposal>>,
    claims: HashSet<Claim>,
    requests: HashSet<String>,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.changes.len() >= IMPORT_BATCH_EVENTS || self.bytes >= IMPORT_BATCH_BYTES
    }
}

impl Importer<'_> {
    /// The next line as a JSON value; `None` at the end of the input.
    fn next_line(
        &mut self,
        input: &mut dyn BufRead,
    ) -> Result<Option<serde_json::Value>, TransferError> {
        self.buffer.clear();
        self.line += 1;
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut *input)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|source| TransferError::Read {
                line: self.line,
                source,
                committed: self.committed,
            })?;
        if read == 0 {
            return Ok(None);
        }
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        }
        if self.buffer.len() > MAX_LINE_BYTES {
            return Err(self.malformed(format!("longer than {MAX_LINE_BYTES} bytes")));
        }
        if self.buffer.is_empty() {
            return Err(self.malformed("empty line".to_owned()));
        }
        match serde_json::from_slice::<serde_json::Value>(&self.buffer) {
            Ok(value) if value.is_object() => Ok(Some(value)),
            Ok(_) => Err(self.malformed("not a JSON object".to_owned())),
            Err(e) => Err(self.malformed(format!("not JSON: {e}"))),
        }
    }

    fn malformed(&self, reason: String) -> TransferError {
        TransferError::Malformed {
            line: self.line,
            reason,
            committed: self.committed,
        }
    }

    fn rejected(&self, position: u64, reason: String) -> TransferError {
        TransferError::Rejected {
            line: self.line,
            position,
            reason,
            committed: self.committed,
        }
    }

    fn read_header(&mut self, input: &mut dyn BufRead) -> Result<(), TransferError> {
        let not_export = |reason: String| {
            format!("{reason}: not an export of proposal-service (its first line is a header)")
        };
        let value = match self.next_line(input)? {
            Some(value) => value,
            None => return Err(self.malformed(not_export("the input is empty".to_owned()))),
        };
        let header: Header = serde_json::from_value(value)
            .map_err(|e| self.malformed(not_export(format!("not a header ({e})"))))?;
        if header.format != FORMAT_NAME {
            return Err(self.malformed(not_export(format!("format {:?}", header.format))));
        }
        if header.version != FORMAT_VERSION || header.event_schema > EVENT_SCHEMA_VERSION {
            return Err(self.malformed(format!(
                "the export has format version {} and event schema {}; this build reads format \
                 version {FORMAT_VERSION} and event schemas up to {EVENT_SCHEMA_VERSION}",
                header.version, header.event_schema
            )));
        }
        Ok(())
    }

    /// Checks one event line and adds its change to the batch.
    async fn add_event(&mut self, value: serde_json::Value) -> Result<(), TransferError> {
        let line: EventLineIn =
            serde_json::from_value(value).map_err(|e| self.malformed(format!("{e}")))?;
        let position = line.position;
        let expected = self.summary.events + 1;
        if position != expected {
            return Err(self.rejected(
                position,
                format!(
                    "expected position {expected}: positions must run 1, 2, 3, ... in order \
                     (a line is missing, repeated or out of place)"
                ),
            ));
        }
        let event = canonical_event(&line.event).map_err(|e| self.rejected(position, e))?;
        if event.position != position {
            return Err(self.rejected(
                position,
                format!("the event inside says position {}", event.position),
            ));
        }
        let hash = from_hex(&line.hash)
            .ok_or_else(|| self.rejected(position, "hash is not 64 hex digits".to_owned()))?;
        let bytes = event_bytes(&event).map_err(|source| TransferError::ImportStore {
            source,
            committed: self.committed,
        })?;
        let computed = link(&self.summary.head, &bytes);
        if computed != hash {
            return Err(self.rejected(
                position,
                format!(
                    "the chain breaks here: the line says hash {}, but the event and its \
                     predecessor give {}; the event was altered, or one before it was removed, \
                     added or moved",
                    line.hash,
                    to_hex(&computed)
                ),
            ));
        }
        if let Some(last) = self.last_time
            && event.occurred_at < last
        {
            return Err(self.rejected(
                position,
                "the event is dated before its predecessor; the log's order is its time order"
                    .to_owned(),
            ));
        }
        let before = match self.batch.proposals.get(&event.proposal_id) {
            Some(proposal) => Some(Arc::clone(proposal)),
            None => self
                .stored(self.store.proposal(event.proposal_id, View::Full))
                .await?
                .map(Arc::new),
        };
        check_recorded(before.as_deref(), &event).map_err(|e| self.rejected(position, e.0))?;
        self.check_merge(&event, before.as_deref())?;
        let claim = event.data.claim();
        if let Some(claim) = &claim {
            self.check_unique(claim, position).await?;
        }
        let request = self
            .request_record(&event, line.request_fingerprint)
            .await?;

        let after = Arc::new(apply(before.as_deref().cloned(), &event));
        if before.is_none() {
            self.summary.proposals += 1;
        }
        if let Some(claim) = claim {
            self.batch.claims.insert(claim);
        }
        if let Some((request_id, _)) = &request {
            self.batch.requests.insert(request_id.as_str().to_owned());
            self.summary.requests += 1;
        }
        self.batch.proposals.insert(after.id, Arc::clone(&after));
        // The change holds the proposal before and after (the first shared with the batch when
        // it changed the proposal already): count its large texts twice, to be safe.
        self.batch.bytes += bytes.len() + 2 * text_bytes(&after);
        self.batch.lines.push((self.line, position, hash));
        self.batch.changes.push(Change {
            before,
            after,
            events: vec![event.clone()],
            request,
        });
        self.summary.events = position;
        self.summary.head = hash;
        self.last_time = Some(event.occurred_at);
        Ok(())
    }

    /// A merge is one act on two proposals, as `MergeProposal` records it: the merged one's
    /// event, then at the next position the other's, naming it; both of one committee and
    /// session. (Each side's own history is `check_recorded`'s.)
    fn check_merge(
        &mut self,
        event: &RecordedEvent,
        before: Option<&Proposal>,
    ) -> Result<(), TransferError> {
        let position = event.position;
        match (self.open_merge.take(), &event.data) {
            (
                None,
                EventData::ProposalMerged {
                    into_proposal_id, ..
                },
            ) => {
                let merged = apply(before.cloned(), event);
                self.open_merge = Some((Arc::new(merged), *into_proposal_id));
                Ok(())
            }
            (Some((merged, into)), EventData::MergeJoined { merged: joined })
                if joined.id == merged.id && event.proposal_id == into =>
            {
                match before {
                    Some(other)
                        if (&other.committee, &other.session)
                            == (&merged.committee, &merged.session) =>
                    {
                        Ok(())
                    }
                    _ => Err(self.rejected(
                        position,
                        format!(
                            "proposal {} is merged into {into}, of another committee or session",
                            merged.id
                        ),
                    )),
                }
            }
            (Some((merged, into)), _) => Err(self.rejected(
                position,
                format!(
                    "proposal {} was merged into {into} at the position before, so this event \
                     must be {into}'s record of it",
                    merged.id
                ),
            )),
            (None, EventData::MergeJoined { merged }) => Err(self.rejected(
                position,
                format!(
                    "proposal {} is recorded as merged into this one, but the event before is not \
                     its merge",
                    merged.id
                ),
            )),
            (None, _) => Ok(()),
        }
    }

    /// Refuses a second proposal with the same number and a second document with the same
    /// number (see [`Claim`]), which the service never accepts.
    async fn check_unique(&self, claim: &Claim, position: u64) -> Result<(), TransferError> {
        if self.batch.claims.contains(claim)
            || self.stored(self.store.claimed_by(claim)).await?.is_some()
        {
            let what = match claim {
                Claim::ProposalNumber {
                    committee,
                    session,
                    number,
                } => format!("proposal number {committee} {session} No. {number}"),
                Claim::DocumentNumber(document_number) => {
                    format!("document number {document_number}")
                }
            };
            return Err(self.rejected(
                position,
                format!("{what} is already taken by an earlier proposal"),
            ));
        }
        Ok(())
    }

    /// The idempotency record a fingerprint on this line restores.
    async fn request_record(
        &self,
        event: &RecordedEvent,
        fingerprint: Option<String>,
    ) -> Result<Option<(RequestKey, RequestRecord)>, TransferError> {
        let Some(fingerprint) = fingerprint else {
            return Ok(None);
        };
        let position = event.position;
        let Some(request_id) = &event.request_id else {
            return Err(self.rejected(
                position,
                "a request fingerprint on an event without a request id".to_owned(),
            ));
        };
        let well_formed = fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let Some(fingerprint) = from_hex(&fingerprint).filter(|_| well_formed) else {
            return Err(self.rejected(
                position,
                "request_fingerprint is not 64 lower-case hex digits".to_owned(),
            ));
        };
        // Records are kept per actor (see `store::request_key`).
        let key = request_key(&event.actor, request_id);
        if self.batch.requests.contains(key.as_str())
            || self.stored(self.store.request(&key)).await?.is_some()
        {
            return Err(self.rejected(
                position,
                format!(
                    "request {request_id:?} of {:?} is recorded twice; the service applies a request once",
                    event.actor
                ),
            ));
        }
        let record = RequestRecord {
            fingerprint,
            proposal_id: event.proposal_id,
            version: event.sequence,
        };
        Ok(Some((key, record)))
    }

    /// Commits the batch and checks that the store computed the hashes the file gives.
    async fn commit(&mut self) -> Result<(), TransferError> {
        if self.batch.changes.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        let hashes = self.stored(self.store.commit(&batch.changes)).await?;
        self.committed += batch.changes.len() as u64;
        for (index, (line, position, expected)) in batch.lines.iter().enumerate() {
            if hashes.get(index) != Some(expected) {
                return Err(TransferError::Rejected {
                    line: *line,
                    position: *position,
                    reason: format!(
                        "the store computed hash {} where the file says {}",
                        hashes.get(index).map_or_else(|| "none".to_owned(), to_hex),
                        to_hex(expected)
                    ),
                    committed: self.committed,
                });
            }
        }
        Ok(())
    }

    /// Checks the end line against everything read, and commits what remains.
    fn finish(&mut self, value: serde_json::Value) -> Result<(), TransferError> {
        let EndLine { end } =
            serde_json::from_value(value).map_err(|e| self.malformed(format!("{e}")))?;
        if let Some((merged, into)) = &self.open_merge {
            return Err(self.malformed(format!(
                "the log ends after proposal {} was merged into {into}, before {into} records it",
                merged.id
            )));
        }
        if end.events != self.summary.events || from_hex(&end.head) != Some(self.summary.head) {
            return Err(self.malformed(format!(
                "the end line gives {} events ending in hash {}, but the file holds {} ending in \
                 {}",
                end.events,
                end.head,
                self.summary.events,
                to_hex(&self.summary.head)
            )));
        }
        Ok(())
    }

    /// What a read (or the commit) of the store gave, its failure saying how much is committed.
    async fn stored<T>(
        &self,
        read: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, TransferError> {
        read.await.map_err(|source| TransferError::ImportStore {
            source,
            committed: self.committed,
        })
    }
}

/// The event a line's `event` object holds, which must be exactly the canonical form the store
/// hashes: nothing unknown, nothing missing, nothing spelled differently.
fn canonical_event(value: &serde_json::Value) -> Result<RecordedEvent, String> {
    let event = RecordedEvent::deserialize(value).map_err(|e| format!("not an event: {e}"))?;
    let canonical = serde_json::to_value(&event).map_err(|e| format!("re-encoding: {e}"))?;
    if canonical != *value {
        let unknown = value
            .as_object()
            .into_iter()
            .flat_map(|fields| fields.keys())
            .find(|key| canonical.get(key.as_str()).is_none());
        return Err(match unknown {
            Some(key) => format!("the event has a field this build does not know: {key:?}"),
            None => "the event is not in the canonical form the store writes".to_owned(),
        });
    }
    Ok(event)
}

/// The bytes of a proposal's large texts, which dominate its size in memory.
fn text_bytes(proposal: &Proposal) -> usize {
    proposal.title.len()
        + proposal.content.len()
        + proposal.reply.as_ref().map_or(0, |reply| reply.body.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SledOptions, SledStore};

    fn wait<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn import_text(text: &str) -> Result<ImportSummary, TransferError> {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
        wait(import(&store, &mut text.as_bytes(), &mut |_| {}))
    }

    #[test]
    fn an_empty_store_round_trips_as_a_header_and_an_end_line() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
        let mut text = Vec::new();
        let summary = wait(export(&store, &mut text, &mut |_| {})).unwrap();
        assert_eq!(summary.events, 0);
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let imported = import_text(&text).unwrap();
        assert_eq!((imported.events, imported.head), (0, GENESIS));
    }

    #[test]
    fn a_file_that_is_not_an_export_is_refused_at_its_first_line() {
        for text in [
            "",
            "{\"position\":1}\n",
            "[1]\n",
            "{\"format\":\"other\",\"version\":1,\"event_schema\":1}\n",
            "{\"format\":\"proposal-service-events\",\"version\":2,\"event_schema\":1}\n",
            "{\"format\":\"proposal-service-events\",\"version\":1,\"event_schema\":1,\"x\":0}\n",
        ] {
            let error = import_text(text).unwrap_err();
            assert!(
                matches!(error, TransferError::Malformed { line: 1, .. }),
                "{text:?}: {error}"
            );
            assert!(
                error.to_string().contains("nothing was imported"),
                "{error}"
            );
        }
    }

    #[test]
    fn an_overlong_line_is_refused_without_reading_it_whole() {
        let header = "{\"format\":\"proposal-service-events\",\"version\":1,\"event_schema\":1}\n";
        let mut long = header.as_bytes().chain(std::io::repeat(b' '));
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
        let mut input = std::io::BufReader::new(&mut long);
        let error = wait(import(&store, &mut input, &mut |_| {})).unwrap_err();
        assert!(
            matches!(error, TransferError::Malformed { line: 2, .. }),
            "{error}"
        );
    }
}
