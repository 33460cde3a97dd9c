//! The changes `load` commits, each built exactly as the service's writer builds it (`decide`,
//! a request id and its fingerprint, the request record keyed per actor), with the event
//! positions and times the writer would give.

use std::sync::Arc;

use proposal_service::app::{EventClock, Submission, fingerprint, new_proposal_id};
use proposal_service::domain::{
    CalendarDate, Command, Decision, Envelope, Proposal, RequestId, Rules, decide,
};
use proposal_service::store::{Change, RequestRecord, SledStore, event_bytes, request_key};

/// The store being loaded, and what the writer keeps from one change to the next: the next
/// position, the last event time, and the events built so far with their raw bytes.
pub struct Loader {
    pub store: SledStore,
    pub next_position: u64,
    pub clock: EventClock,
    /// The rules the service decides under by default.
    pub rules: Rules,
    pub events: u64,
    pub raw_event_bytes: u64,
}

impl Loader {
    /// The change one command makes, built as the writer's `prepare` builds it.
    pub fn change(
        &mut self,
        before: Option<Arc<Proposal>>,
        command: Command,
        effective_date: Option<CalendarDate>,
        actor: &str,
    ) -> Result<Change, String> {
        let proposal_id = before.as_ref().map(|p| p.id);
        let expected_version = before.as_ref().map(|p| p.version);
        let request_id = RequestId::new(uuid::Uuid::now_v7().simple().to_string());
        let fingerprint = fingerprint(&Submission {
            proposal_id,
            command: command.clone(),
            expected_version,
            request_id: Some(request_id.clone()),
            actor: actor.to_owned(),
            effective_date,
            unit_scope: None,
        });
        let envelope = Envelope {
            proposal_id: proposal_id.unwrap_or_else(new_proposal_id),
            position: self.next_position,
            occurred_at: self.clock.now(),
            effective_date,
            actor: actor.to_owned(),
            request_id: Some(request_id.as_str().to_owned()),
        };
        let Decision { event, after } = decide(before.as_deref(), &command, envelope, &self.rules)
            .map_err(|e| format!("the generated command was refused: {e}"))?;
        self.next_position += 1;
        self.events += 1;
        self.raw_event_bytes += event_bytes(&event).map_err(|e| e.to_string())?.len() as u64;
        let id = after.id;
        let after = Arc::new(after);
        let record = RequestRecord {
            fingerprint,
            proposal_id: id,
            version: after.version,
        };
        Ok(Change {
            before,
            after,
            events: vec![event],
            // Stored per actor, as the writer keys them.
            request: Some((request_key(actor, request_id.as_str()), record)),
        })
    }
}
