//! The principals file and authentication against it.
//!
//! ```json
//! { "principals": [
//!     { "name": "registrar-1", "role": "registrar", "token_sha256": "<64 hex digits>" },
//!     { "name": "eco-signer", "role": "signer", "unit": "许昌市生态环境局" },
//!     { "name": "苏会兴", "role": "proposer", "token_sha256": "<64 hex digits>" }
//! ] }
//! ```
//!
//! A principal authenticates with a bearer token whose SHA-256 (hex) is its `token_sha256`, or
//! with a client certificate (mutual TLS) whose subject common name is its `name`. Only hashes
//! are stored; a presented token is hashed and compared with every listed hash in constant time.
//! The file is re-read on demand ([`Authenticator::reload`]: SIGHUP and a timer in the server);
//! a file that fails to load leaves the principals in force unchanged. A long call keeps its
//! [`Standing`] and learns when a reload takes its credential away ([`Standing::lost`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::watch;

use super::{Principal, Role};

/// Why the principals file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading the principals file {path}: {message}")]
    Read { path: String, message: String },
    #[error("the principals file {path} is invalid: {message}")]
    Invalid { path: String, message: String },
}

/// Why a caller was not authenticated; said to the caller as UNAUTHENTICATED.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unauthenticated {
    #[error("no credentials: send `authorization: Bearer <token>` or a client certificate")]
    Missing,
    #[error("the authorization header must be `Bearer <token>`")]
    Malformed,
    #[error("unknown or revoked token")]
    UnknownToken,
    #[error("the client certificate's name {0:?} is not a listed principal")]
    UnknownCertificate(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    principals: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    role: Role,
    #[serde(default)]
    unit: Option<String>,
    /// SHA-256 of the bearer token, hex; absent for certificate-only principals.
    #[serde(default)]
    token_sha256: Option<String>,
}

/// A loaded principals file.
struct Principals {
    entries: Vec<(Principal, Option<[u8; 32]>)>,
}

impl Principals {
    fn parse(path: &Path, text: &str) -> Result<Self, AuthError> {
        let invalid = |message: String| AuthError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let file: File = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let mut names = HashSet::new();
        let mut hashes = HashSet::new();
        let mut entries = Vec::with_capacity(file.principals.len());
        for (i, entry) in file.principals.into_iter().enumerate() {
            let Entry {
                name,
                role,
                unit,
                token_sha256,
            } = entry;
            let at = format!("principals[{i}] ({name:?})");
            if name.trim().is_empty() || name.trim() != name || name.chars().any(char::is_control) {
                return Err(invalid(format!(
                    "{at}: a name must be non-empty, without surrounding spaces or control characters"
                )));
            }
            if !names.insert(name.clone()) {
                return Err(invalid(format!("{at}: the name is listed twice")));
            }
            match (role.needs_unit(), &unit) {
                (true, None) => {
                    return Err(invalid(format!(
                        "{at}: role {} needs the unit it acts for",
                        role.as_str()
                    )));
                }
                (true, Some(u)) if u.trim().is_empty() => {
                    return Err(invalid(format!("{at}: the unit is empty")));
                }
                (false, Some(_)) => {
                    return Err(invalid(format!(
                        "{at}: role {} acts for every unit; remove `unit`",
                        role.as_str()
                    )));
                }
                _ => {}
            }
            let hash = match token_sha256 {
                Some(hex) => {
                    let hash = crate::store::from_hex(&hex).ok_or_else(|| {
                        invalid(format!("{at}: token_sha256 must be 64 hex digits"))
                    })?;
                    if !hashes.insert(hash) {
                        return Err(invalid(format!("{at}: the token is listed twice")));
                    }
                    Some(hash)
                }
                None => None,
            };
            let principal = Principal {
                name,
                role,
                unit,
                names_actors: false,
            };
            entries.push((principal, hash));
        }
        Ok(Self { entries })
    }

    fn by_token(&self, presented: &[u8; 32]) -> Option<&Principal> {
        // Every entry is compared, so the time taken does not say which one matched.
        let mut found = None;
        for (principal, hash) in &self.entries {
            if let Some(hash) = hash
                && bool::from(hash.ct_eq(presented))
            {
                found = Some(principal);
            }
        }
        found
    }

    fn by_name(&self, name: &str) -> Option<&Principal> {
        self.entries
            .iter()
            .map(|(principal, _)| principal)
            .find(|principal| principal.name == name)
    }
}

/// Authenticates callers: against a principals file, or, without one, as the single local
/// development principal.
pub struct Authenticator {
    source: Option<PathBuf>,
    principals: RwLock<Arc<Principals>>,
    /// Counts the reloads that replaced the principals.
    reloads: watch::Sender<u64>,
}

/// What a caller presented: kept (hashed, for a token) by a long call so that it can be
/// checked again after a reload.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// No principals file: the local development principal.
    Local,
    /// The SHA-256 of a bearer token.
    Token([u8; 32]),
    /// A verified client certificate's subject common name.
    Certificate(String),
}

impl std::fmt::Debug for Credential {
    /// Never shows a token's hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local => f.write_str("Local"),
            Self::Token(_) => f.write_str("Token(..)"),
            Self::Certificate(name) => f.debug_tuple("Certificate").field(name).finish(),
        }
    }
}

/// A call's authenticated standing: who it is, and by which credential.
#[derive(Clone, Debug)]
pub struct Standing {
    pub principal: Principal,
    credential: Credential,
    authenticator: Arc<Authenticator>,
}

impl Standing {
    /// Resolves once the principals in force no longer give this call's credential the same
    /// principal (its token or certificate name was removed, or its role or unit changed);
    /// never, while they do.
    pub async fn lost(&self) {
        let mut reloads = self.authenticator.reloads.subscribe();
        loop {
            // Checked after subscribing, so a reload just before is not missed.
            if self.authenticator.principal_for(&self.credential).as_ref() != Ok(&self.principal) {
                return;
            }
            if reloads.changed().await.is_err() {
                // The authenticator is gone (the server is stopping): nothing revokes any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Authenticator {
    /// No principals file: every caller is [`Principal::local_admin`]. The server allows this
    /// only on a loopback address.
    pub fn local() -> Self {
        Self {
            source: None,
            principals: RwLock::new(Arc::new(Principals {
                entries: Vec::new(),
            })),
            reloads: watch::Sender::new(0),
        }
    }

    /// Loads the principals file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, AuthError> {
        let principals = load(path)?;
        Ok(Self {
            source: Some(path.to_owned()),
            principals: RwLock::new(Arc::new(principals)),
            reloads: watch::Sender::new(0),
        })
    }

    /// Whether callers are checked against a principals file.
    pub fn is_local(&self) -> bool {
        self.source.is_none()
    }

    /// How many principals are listed.
    pub fn principal_count(&self) -> usize {
        self.current().entries.len()
    }

    /// Re-reads the principals file. On failure the principals in force stay as they were.
    pub fn reload(&self) -> Result<usize, AuthError> {
        let Some(path) = &self.source else {
            return Ok(0);
        };
        let principals = load(path)?;
        let count = principals.entries.len();
        *self
            .principals
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(principals);
        self.reloads.send_modify(|n| *n += 1);
        Ok(count)
    }

    /// Who is calling: from the `authorization` header's value, if any, or else the verified
    /// client certificate's common name, if any.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        certificate_name: Option<&str>,
    ) -> Result<Principal, Unauthenticated> {
        let credential = self.credential(authorization, certificate_name)?;
        self.principal_for(&credential)
    }

    /// [`Authenticator::authenticate`], keeping the credential with the principal.
    pub fn stand(
        self: &Arc<Self>,
        authorization: Option<&[u8]>,
        certificate_name: Option<&str>,
    ) -> Result<Standing, Unauthenticated> {
        let credential = self.credential(authorization, certificate_name)?;
        Ok(Standing {
            principal: self.principal_for(&credential)?,
            credential,
            authenticator: Arc::clone(self),
        })
    }

    /// What the caller presented: the `authorization` header, if any, or else the verified
    /// client certificate's name.
    fn credential(
        &self,
        authorization: Option<&[u8]>,
        certificate_name: Option<&str>,
    ) -> Result<Credential, Unauthenticated> {
        if self.is_local() {
            return Ok(Credential::Local);
        }
        if let Some(header) = authorization {
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            let token = std::str::from_utf8(header)
                .ok()
                .and_then(|h| h.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim())
                .filter(|t| !t.is_empty())
                .ok_or(Unauthenticated::Malformed)?;
            return Ok(Credential::Token(Sha256::digest(token.as_bytes()).into()));
        }
        match certificate_name {
            Some(name) => Ok(Credential::Certificate(name.to_owned())),
            None => Err(Unauthenticated::Missing),
        }
    }

    /// The principal the principals in force give `credential`.
    fn principal_for(&self, credential: &Credential) -> Result<Principal, Unauthenticated> {
        match credential {
            Credential::Local => Ok(Principal::local_admin()),
            Credential::Token(hash) => self
                .current()
                .by_token(hash)
                .cloned()
                .ok_or(Unauthenticated::UnknownToken),
            Credential::Certificate(name) => self
                .current()
                .by_name(name)
                .cloned()
                .ok_or_else(|| Unauthenticated::UnknownCertificate(name.clone())),
        }
    }

    fn current(&self) -> Arc<Principals> {
        Arc::clone(
            &self
                .principals
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

impl std::fmt::Debug for Authenticator {
    /// Names the source and the count, never a token hash.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("source", &self.source)
            .field("principals", &self.principal_count())
            .finish()
    }
}

fn load(path: &Path) -> Result<Principals, AuthError> {
    let text = std::fs::read_to_string(path).map_err(|e| AuthError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    Principals::parse(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(token: &str) -> String {
        crate::store::to_hex(&Sha256::digest(token.as_bytes()).into())
    }

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("principals.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn file(entries: &str) -> String {
        format!(r#"{{"principals": [{entries}]}}"#)
    }

    #[test]
    fn tokens_and_certificates_name_their_principals() {
        let dir = tempfile::tempdir().unwrap();
        let text = file(&format!(
            r#"{{"name": "registrar-1", "role": "registrar", "token_sha256": "{}"}},
               {{"name": "eco-signer", "role": "signer", "unit": "许昌市生态环境局"}}"#,
            hash("s3cret")
        ));
        let auth = Authenticator::from_file(&write(dir.path(), &text)).unwrap();
        let p = auth.authenticate(Some(b"Bearer s3cret"), None).unwrap();
        assert_eq!((p.name.as_str(), p.role), ("registrar-1", Role::Registrar));
        let p = auth.authenticate(Some(b"bearer s3cret"), None).unwrap();
        assert_eq!(p.name, "registrar-1", "the scheme is case-insensitive");
        let p = auth.authenticate(None, Some("eco-signer")).unwrap();
        assert_eq!(p.unit.as_deref(), Some("许昌市生态环境局"));
        // A token wins over a certificate; a wrong one is not rescued by the certificate.
        assert_eq!(
            auth.authenticate(Some(b"Bearer wrong"), Some("eco-signer")),
            Err(Unauthenticated::UnknownToken)
        );
        assert_eq!(auth.authenticate(None, None), Err(Unauthenticated::Missing));
        for malformed in [&b"s3cret"[..], b"Bearer ", b"Basic s3cret", b"Bearer \xff"] {
            assert_eq!(
                auth.authenticate(Some(malformed), None),
                Err(Unauthenticated::Malformed),
                "{malformed:?}"
            );
        }
        assert!(matches!(
            auth.authenticate(None, Some("stranger")),
            Err(Unauthenticated::UnknownCertificate(_))
        ));
    }

    #[test]
    fn a_reload_revokes_removed_tokens_and_a_bad_file_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let one = |name: &str, token: &str| {
            file(&format!(
                r#"{{"name": "{name}", "role": "auditor", "token_sha256": "{}"}}"#,
                hash(token)
            ))
        };
        let path = write(dir.path(), &one("old", "t1"));
        let auth = Authenticator::from_file(&path).unwrap();
        assert!(auth.authenticate(Some(b"Bearer t1"), None).is_ok());
        write(dir.path(), &one("new", "t2"));
        assert_eq!(auth.reload().unwrap(), 1);
        assert_eq!(
            auth.authenticate(Some(b"Bearer t1"), None),
            Err(Unauthenticated::UnknownToken)
        );
        assert!(auth.authenticate(Some(b"Bearer t2"), None).is_ok());
        write(dir.path(), "{not json");
        assert!(auth.reload().is_err());
        assert!(auth.authenticate(Some(b"Bearer t2"), None).is_ok());
    }

    /// Every way a principals file can be invalid (SECURITY.md lists them): refused at start
    /// with the file and the reason, and at a reload refused the same way while the principals
    /// in force stay.
    #[test]
    fn invalid_files_are_refused_at_start_and_at_reload_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let good = file(&format!(
            r#"{{"name": "kept", "role": "auditor", "token_sha256": "{}"}}"#,
            hash("t1")
        ));
        let two_tokens = format!(
            r#"{{"name": "a", "role": "admin", "token_sha256": "{h}"}},
               {{"name": "b", "role": "auditor", "token_sha256": "{h}"}}"#,
            h = hash("same")
        );
        let cases: [(Option<String>, &str); 16] = [
            (None, "No such file"),
            (Some("{not json".into()), "key must be a string"),
            (Some("{}".into()), "missing field `principals`"),
            (
                Some(file(r#"{"name": "a", "role": "king"}"#)),
                "unknown variant `king`",
            ),
            (
                Some(file(r#"{"name": "a", "role": "admin", "token": "plain"}"#)),
                "unknown field `token`",
            ),
            (
                Some(file(r#"{"name": "u", "role": "unit"}"#)),
                "role unit needs the unit it acts for",
            ),
            (
                Some(file(r#"{"name": "s", "role": "signer", "unit": " "}"#)),
                "the unit is empty",
            ),
            (
                Some(file(r#"{"name": "a", "role": "admin", "unit": "x"}"#)),
                "remove `unit`",
            ),
            (
                Some(file(
                    r#"{"name": "a", "role": "admin"}, {"name": "a", "role": "auditor"}"#,
                )),
                "the name is listed twice",
            ),
            (Some(file(&two_tokens)), "the token is listed twice"),
            (
                Some(file(
                    r#"{"name": "a", "role": "admin", "token_sha256": "abc"}"#,
                )),
                "64 hex digits",
            ),
            (
                Some(file(&format!(
                    r#"{{"name": "a", "role": "admin", "token_sha256": "{}"}}"#,
                    "g".repeat(64)
                ))),
                "64 hex digits",
            ),
            (
                Some(file(r#"{"name": " a", "role": "admin"}"#)),
                "surrounding spaces",
            ),
            (
                Some(file(r#"{"name": "", "role": "admin"}"#)),
                "a name must be non-empty",
            ),
            (
                Some(file(r#"{"name": "a\u0007", "role": "admin"}"#)),
                "control characters",
            ),
            (
                Some(file(
                    r#"{"name": "a", "role": "admin", "unit": "x", "unit": "y"}"#,
                )),
                "duplicate field `unit`",
            ),
        ];
        for (text, reason) in cases {
            let path = dir.path().join("principals.json");
            let _ = std::fs::remove_file(&path);
            if let Some(text) = &text {
                std::fs::write(&path, text).unwrap();
            }
            let error = Authenticator::from_file(&path)
                .err()
                .unwrap_or_else(|| panic!("{text:?} must be refused at start"));
            let message = error.to_string();
            assert!(message.contains(reason), "{text:?}: {message}");
            assert!(message.contains("principals.json"), "{text:?}: {message}");

            std::fs::write(&path, &good).unwrap();
            let auth = Authenticator::from_file(&path).unwrap();
            match &text {
                Some(text) => std::fs::write(&path, text).unwrap(),
                None => std::fs::remove_file(&path).unwrap(),
            }
            let error = auth
                .reload()
                .err()
                .unwrap_or_else(|| panic!("{text:?} must be refused at reload"));
            assert!(error.to_string().contains(reason), "{text:?}: {error}");
            assert_eq!(auth.principal_count(), 1, "{text:?}");
            let kept = auth.authenticate(Some(b"Bearer t1"), None);
            assert_eq!(kept.map(|p| p.name), Ok("kept".to_owned()), "{text:?}");
        }
    }

    /// An empty list is a valid file: every call is then UNAUTHENTICATED (a way to shut every
    /// caller out at once, by a reload).
    #[test]
    fn an_empty_list_shuts_every_caller_out() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Authenticator::from_file(&write(dir.path(), &file(""))).unwrap();
        assert_eq!(auth.principal_count(), 0);
        assert_eq!(
            auth.authenticate(Some(b"Bearer t1"), None),
            Err(Unauthenticated::UnknownToken)
        );
    }

    #[test]
    fn without_a_file_everyone_is_the_local_admin() {
        let auth = Authenticator::local();
        assert_eq!(
            auth.authenticate(None, None).unwrap(),
            Principal::local_admin()
        );
    }

    #[tokio::test]
    async fn a_standing_is_lost_when_a_reload_changes_what_its_credential_names() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |role: &str, token: &str| {
            file(&format!(
                r#"{{"name": "watcher", "role": "{role}", "token_sha256": "{}"}},
                   {{"name": "eco-signer", "role": "signer", "unit": "许昌市生态环境局"}}"#,
                hash(token)
            ))
        };
        let path = write(dir.path(), &entry("auditor", "t1"));
        let auth = Arc::new(Authenticator::from_file(&path).unwrap());
        let by_token = auth.stand(Some(b"Bearer t1"), None).unwrap();
        let by_certificate = auth.stand(None, Some("eco-signer")).unwrap();
        let lost = |standing: &Standing| {
            let standing = standing.clone();
            tokio::spawn(async move { standing.lost().await })
        };
        let (token_lost, certificate_lost) = (lost(&by_token), lost(&by_certificate));
        // Reloads that change nothing for them: neither is lost.
        assert_eq!(auth.reload().unwrap(), 2);
        tokio::task::yield_now().await;
        assert!(!token_lost.is_finished() && !certificate_lost.is_finished());
        // The same token with another role: the token's standing is lost, the other is not.
        write(dir.path(), &entry("admin", "t1"));
        auth.reload().unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), token_lost)
            .await
            .expect("lost once the role changed")
            .unwrap();
        assert!(!certificate_lost.is_finished());
        // A standing taken after the change holds; the certificate's goes with its entry.
        let renewed = lost(&auth.stand(Some(b"Bearer t1"), None).unwrap());
        write(
            dir.path(),
            &file(&format!(
                r#"{{"name": "watcher", "role": "admin", "token_sha256": "{}"}}"#,
                hash("t1")
            )),
        );
        auth.reload().unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), certificate_lost)
            .await
            .expect("lost once the certificate's name was removed")
            .unwrap();
        assert!(!renewed.is_finished());
    }
}
