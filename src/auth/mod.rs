//! Who may do what. A caller is a [`Principal`] (name, role, unit), authenticated by a bearer
//! token or a client certificate listed in the principals file ([`Authenticator`]); every call
//! is then checked against the role matrix ([`grant`]). Knows no gRPC: the edge extracts the
//! credentials and maps the outcomes to status codes.
//!
//! | role | may change | may read |
//! |---|---|---|
//! | `registrar` | receive, assign (also re-assign after a return), refuse, merge, withdraw (return), decide extensions and return requests, record proposers' feedback, reopen, close, designate key proposals | everything but `VerifyHistory`, statistics included |
//! | `unit` | acknowledge, record contacts, request extensions and returns, draft; return directly only when the rules allow — proposals its unit is handling | its unit's proposals and events |
//! | `signer` | sign, reject drafts — its unit's proposals | its unit's proposals and events |
//! | `office` | issue, copy — its unit's proposals | its unit's proposals and events |
//! | `auditor` | nothing | everything, `VerifyHistory` and statistics included |
//! | `proposer` | record its own verdict (feedback) — the proposals it made | the proposals it made (its name is among their proposers): get, list, history, render; no events, no statistics |
//! | `admin` | everything | everything |

mod principals;

use crate::domain::{CommandKind, Rules};
use serde::{Deserialize, Serialize};

pub use principals::{AuthError, Authenticator, Credential, Standing, Unauthenticated};

/// What a principal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Registrar,
    Unit,
    Signer,
    Office,
    Auditor,
    Admin,
    /// A member or collective who made proposals (提案者): its name is the one the proposals
    /// list among their proposers.
    Proposer,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Registrar,
        Role::Unit,
        Role::Signer,
        Role::Office,
        Role::Auditor,
        Role::Admin,
        Role::Proposer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Registrar => "registrar",
            Role::Unit => "unit",
            Role::Signer => "signer",
            Role::Office => "office",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
            Role::Proposer => "proposer",
        }
    }

    /// Whether principals of this role act for one handling unit, named in the principals file.
    pub fn needs_unit(self) -> bool {
        matches!(self, Role::Unit | Role::Signer | Role::Office)
    }
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Unique in the principals file; recorded as the `actor` of every event it causes, and the
    /// scope of its idempotency keys.
    pub name: String,
    pub role: Role,
    /// The handling unit it acts for; set exactly for the unit-bound roles.
    pub unit: Option<String>,
    /// Only the local development principal (no principals file): it stands for whoever its
    /// requests name as `actor`, as a trusted gateway would.
    pub names_actors: bool,
}

impl Principal {
    /// The one principal of a server started without a principals file (loopback only).
    pub fn local_admin() -> Self {
        Self {
            name: "local-admin".into(),
            role: Role::Admin,
            unit: None,
            names_actors: true,
        }
    }
}

/// What a call asks to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// An RPC that changes a proposal: one per command.
    Change(CommandKind),
    /// GetProposal, ListProposals, GetProposalHistory, RenderReply.
    ReadProposals,
    /// ListEvents, WatchEvents.
    ReadEvents,
    /// VerifyHistory.
    Verify,
    /// GetStatistics: a whole session's figures.
    ReadStatistics,
}

impl Action {
    /// Every action: each command's change, then the reads.
    pub fn all() -> impl Iterator<Item = Action> {
        CommandKind::ALL.into_iter().map(Action::Change).chain([
            Action::ReadProposals,
            Action::ReadEvents,
            Action::Verify,
            Action::ReadStatistics,
        ])
    }
}

/// How far an allowed action reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Every proposal.
    Everywhere,
    /// Only proposals this unit is handling (when the command is decided, for changes; when
    /// read, for reads); listings and streams are narrowed to the unit.
    OwnUnit(String),
    /// Only proposals this proposer made (its name among their proposers), and of changes
    /// only its own verdict; listings are narrowed to its proposals.
    OwnProposals(String),
}

/// Why a call was refused: said to the caller and logged with the principal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{principal} ({role}) may not {what}")]
pub struct Denied {
    pub principal: String,
    pub role: &'static str,
    pub what: String,
}

impl Denied {
    pub fn new(principal: &Principal, what: impl Into<String>) -> Self {
        Self {
            principal: principal.name.clone(),
            role: principal.role.as_str(),
            what: what.into(),
        }
    }
}

/// The role matrix: whether `principal` may perform `action`, and on which proposals. One cell
/// follows the local rules: a unit returns a proposal itself only when
/// `unit_may_return_directly` (otherwise it asks with RequestReturn).
pub fn grant(principal: &Principal, action: Action, rules: &Rules) -> Result<Grant, Denied> {
    use {Action as A, CommandKind as K};
    let allowed = match (principal.role, action) {
        (Role::Admin, _) => true,
        (Role::Proposer, action) => {
            matches!(action, A::ReadProposals | A::Change(K::RecordFeedback))
        }
        (Role::Auditor, read) => matches!(
            read,
            A::ReadProposals | A::ReadEvents | A::Verify | A::ReadStatistics
        ),
        (_, A::ReadProposals | A::ReadEvents) => true,
        (_, A::Verify) => false,
        (role, A::ReadStatistics) => role == Role::Registrar,
        (Role::Registrar, A::Change(kind)) => {
            matches!(
                kind,
                K::Receive
                    | K::Assign
                    | K::Refuse
                    | K::Return
                    | K::DecideExtension
                    | K::DecideReturn
                    | K::Merge
                    | K::Join
                    | K::RecordFeedback
                    | K::Reopen
                    | K::Close
                    | K::SetKey
            )
        }
        (Role::Unit, A::Change(K::Return)) => rules.unit_may_return_directly,
        (Role::Unit, A::Change(kind)) => matches!(
            kind,
            K::Draft
                | K::Acknowledge
                | K::Contact
                | K::RequestExtension
                | K::RequestReturn
                | K::SubmitOpinion
        ),
        (Role::Signer, A::Change(kind)) => matches!(kind, K::Sign | K::RejectDraft),
        (Role::Office, A::Change(kind)) => matches!(kind, K::Issue | K::Copy),
    };
    if !allowed {
        return Err(Denied::new(principal, describe(action)));
    }
    if principal.role == Role::Proposer {
        return Ok(Grant::OwnProposals(principal.name.clone()));
    }
    match (&principal.unit, principal.role.needs_unit()) {
        (Some(unit), true) => Ok(Grant::OwnUnit(unit.clone())),
        (None, true) => Err(Denied::new(principal, "act without a unit")),
        (_, false) => Ok(Grant::Everywhere),
    }
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::Change(kind) => match kind {
            CommandKind::Receive => "receive proposals",
            CommandKind::Assign => "assign proposals",
            CommandKind::Return => {
                "return proposals directly (the rules have units ask with RequestReturn)"
            }
            CommandKind::Draft => "draft replies",
            CommandKind::RejectDraft => "reject drafts",
            CommandKind::Sign => "sign replies",
            CommandKind::Issue => "issue replies",
            CommandKind::Copy => "copy replies",
            CommandKind::Refuse => "refuse proposals",
            CommandKind::Acknowledge => "sign for assignments",
            CommandKind::Contact => "record contacts with proposers",
            CommandKind::RequestExtension => "request extensions",
            CommandKind::DecideExtension => "decide extensions",
            CommandKind::RequestReturn => "ask to return proposals",
            CommandKind::DecideReturn => "decide return requests",
            CommandKind::SubmitOpinion => "submit co-handling opinions",
            CommandKind::Merge | CommandKind::Join => "merge proposals",
            CommandKind::RecordFeedback => "record proposers' feedback",
            CommandKind::Close => "close proposals",
            CommandKind::SetKey => "designate key proposals",
            CommandKind::Reopen => "reopen proposals",
        },
        Action::ReadProposals => "read proposals",
        Action::ReadEvents => "read the event log",
        Action::Verify => "verify the history",
        Action::ReadStatistics => "read a session's statistics",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            name: format!("p-{}", role.as_str()),
            role,
            unit: role.needs_unit().then(|| "许昌市生态环境局".to_owned()),
            names_actors: false,
        }
    }

    /// The matrix of the module documentation, cell by cell.
    #[test]
    fn every_role_gets_exactly_its_actions() {
        use {Action as A, CommandKind as K};
        let reads = [A::ReadProposals, A::ReadEvents];
        let changes = |kinds: &[K]| -> Vec<Action> {
            kinds.iter().map(|k| A::Change(*k)).chain(reads).collect()
        };
        let expected: [(Role, Vec<Action>); 7] = [
            (
                Role::Registrar,
                changes(&[
                    K::Receive,
                    K::Assign,
                    K::Refuse,
                    K::Return,
                    K::DecideExtension,
                    K::DecideReturn,
                    K::Merge,
                    K::Join,
                    K::RecordFeedback,
                    K::Reopen,
                    K::Close,
                    K::SetKey,
                ])
                .into_iter()
                .chain([A::ReadStatistics])
                .collect(),
            ),
            (
                Role::Unit,
                changes(&[
                    K::Draft,
                    K::Acknowledge,
                    K::Contact,
                    K::RequestExtension,
                    K::RequestReturn,
                    K::SubmitOpinion,
                ]),
            ),
            (Role::Signer, changes(&[K::RejectDraft, K::Sign])),
            (Role::Office, changes(&[K::Issue, K::Copy])),
            (
                Role::Auditor,
                vec![
                    A::ReadProposals,
                    A::ReadEvents,
                    A::Verify,
                    A::ReadStatistics,
                ],
            ),
            (Role::Admin, Action::all().collect()),
            (
                Role::Proposer,
                vec![A::ReadProposals, A::Change(K::RecordFeedback)],
            ),
        ];
        for (role, allowed) in expected {
            let p = principal(role);
            for action in Action::all() {
                let granted = grant(&p, action, &Rules::default());
                assert_eq!(
                    granted.is_ok(),
                    allowed.contains(&action),
                    "{role:?} {action:?}: {granted:?}"
                );
                if let Ok(grant) = granted {
                    let want = match (role, role.needs_unit()) {
                        (Role::Proposer, _) => Grant::OwnProposals(p.name.clone()),
                        (_, true) => Grant::OwnUnit("许昌市生态环境局".into()),
                        (_, false) => Grant::Everywhere,
                    };
                    assert_eq!(grant, want, "{role:?} {action:?}");
                }
            }
        }
    }

    /// The one cell the rules decide: a unit returns directly only when they allow it; the
    /// registrar may always withdraw an assignment.
    #[test]
    fn direct_returns_by_units_follow_the_rules() {
        let unit = principal(Role::Unit);
        let registrar = principal(Role::Registrar);
        let allowing = Rules {
            unit_may_return_directly: true,
            ..Rules::default()
        };
        let returns = Action::Change(CommandKind::Return);
        assert!(grant(&unit, returns, &Rules::default()).is_err());
        assert_eq!(
            grant(&unit, returns, &allowing),
            Ok(Grant::OwnUnit("许昌市生态环境局".into()))
        );
        for rules in [Rules::default(), allowing] {
            assert_eq!(grant(&registrar, returns, &rules), Ok(Grant::Everywhere));
        }
    }

    #[test]
    fn a_unit_role_without_a_unit_is_denied_everything() {
        let mut p = principal(Role::Signer);
        p.unit = None;
        assert!(grant(&p, Action::Change(CommandKind::Sign), &Rules::default()).is_err());
        assert!(grant(&p, Action::ReadProposals, &Rules::default()).is_err());
    }
}
