//! Page tokens: opaque to callers, bound to the query they came from, so that a token replayed
//! with other filters is refused instead of silently skipping or repeating results.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::AppError;

const TOKEN_VERSION: u8 = 1;
const MAX_TOKEN_CHARS: usize = 2048;

/// What a caller asked for: a page size (0 for the default) and an optional token.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub page_size: i32,
    pub page_token: String,
}

/// An 8-byte digest of the query a token belongs to.
pub(super) type Scope = [u8; 8];

pub(super) fn scope(parts: &[&str]) -> Scope {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..8]
        .try_into()
        .expect("a SHA-256 digest is 32 bytes")
}

pub(super) fn token(scope: Scope, cursor: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(1 + scope.len() + cursor.len());
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&scope);
    bytes.extend_from_slice(cursor);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn bad_token() -> AppError {
    AppError::field(
        "page_token",
        "is not a token this service issued for this query",
    )
}

impl PageRequest {
    /// The page size to use (default when 0, capped at the maximum) and the cursor to resume
    /// after, checked against the query's scope.
    pub(super) fn resolve(
        &self,
        (default, max): (usize, usize),
        scope: Scope,
    ) -> Result<(usize, Option<Vec<u8>>), AppError> {
        let limit = match usize::try_from(self.page_size) {
            Err(_) => return Err(AppError::field("page_size", "must not be negative")),
            Ok(0) => default,
            Ok(size) => size.min(max),
        };
        if self.page_token.is_empty() {
            return Ok((limit, None));
        }
        if self.page_token.len() > MAX_TOKEN_CHARS {
            return Err(bad_token());
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.page_token)
            .map_err(|_| bad_token())?;
        match bytes.split_first() {
            Some((&TOKEN_VERSION, rest)) if rest.len() >= scope.len() && rest[..8] == scope => {
                Ok((limit, Some(rest[8..].to_vec())))
            }
            _ => Err(bad_token()),
        }
    }
}
