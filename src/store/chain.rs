//! The hash chain over the event log. Every stored event carries the SHA-256 of its
//! predecessor's hash followed by its own stored bytes (the first event's predecessor is 32 zero
//! bytes), so changing, removing or reordering any stored event changes every hash after it.
//! Every backend stores the same canonical bytes ([`event_bytes`]) and computes the same chain,
//! so an export from one can be checked by another.

use sha2::{Digest, Sha256};

use super::StoreError;
use crate::domain::RecordedEvent;

/// One link of the chain.
pub type ChainHash = [u8; 32];

/// The predecessor of the first event.
pub const GENESIS: ChainHash = [0; 32];

/// The canonical bytes of an event: what is stored, and what its hash covers.
pub fn event_bytes(event: &RecordedEvent) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(event).map_err(|e| StoreError::Io(format!("encoding an event: {e}")))
}

/// The hash of an event whose canonical bytes are `bytes`, following `previous`.
pub fn link(previous: &ChainHash, bytes: &[u8]) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(bytes);
    hasher.finalize().into()
}

/// The end of the chain: the last event's position and hash. A commit extends a copy of it
/// event by event and, once durable, makes the copy the store's head; every backend keeps one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub position: u64,
    pub hash: ChainHash,
}

impl ChainHead {
    /// The head of an empty log.
    pub const EMPTY: Self = Self {
        position: 0,
        hash: GENESIS,
    };

    /// Links `event` after the head and moves the head to it; returns the event's hash and its
    /// canonical bytes (what to store). Refuses an event that does not take the next position.
    pub fn extend(&mut self, event: &RecordedEvent) -> Result<(ChainHash, Vec<u8>), StoreError> {
        if event.position != self.position + 1 {
            return Err(StoreError::Io(format!(
                "event position {} does not follow the log's last position {}",
                event.position, self.position
            )));
        }
        let bytes = event_bytes(event)?;
        let hash = link(&self.hash, &bytes);
        *self = Self {
            position: event.position,
            hash,
        };
        Ok((hash, bytes))
    }
}

/// Lower-case hex, as the API and exports show a hash.
pub fn to_hex(hash: &ChainHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses [`to_hex`]'s output (either letter case).
pub fn from_hex(text: &str) -> Option<ChainHash> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut hash = [0; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_malformed_text() {
        let hash = link(&GENESIS, b"event");
        assert_eq!(from_hex(&to_hex(&hash)), Some(hash));
        assert_eq!(from_hex(&to_hex(&hash).to_uppercase()), Some(hash));
        assert_eq!(from_hex("00"), None);
        assert_eq!(from_hex(&"zz".repeat(32)), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn a_link_depends_on_its_predecessor_and_its_bytes() {
        let first = link(&GENESIS, b"a");
        assert_ne!(link(&first, b"b"), link(&GENESIS, b"b"));
        assert_ne!(link(&first, b"b"), link(&first, b"c"));
        assert_eq!(link(&first, b"b"), link(&first, b"b"));
    }
}
