mod common;

// The reference model of `model.rs` (tests/common/model.rs) on a fixed scenario: guards the
// oracle against being vacuous.

use common::lifecycle::{Command, State};
use common::model::{Case, Expect, Model, Payload, Version, build};

/// The model itself, on a fixed scenario: guards the oracle against being vacuous.
#[test]
fn the_model_predicts_the_documented_lifecycle() {
    let case = Case::new();
    let mut model = Model::new(2);
    let send = |model: &mut Model, kind: Command, slot: usize, version: Version, rid: &str| {
        let (meta, sent) = build(
            &case,
            model,
            kind,
            slot,
            Payload::Valid(0),
            version,
            0,
            rid.to_owned(),
        );
        let expect = model.step(&meta, &sent);
        if let Expect::Ok {
            slot,
            created: true,
            ..
        } = expect
        {
            model.slots[slot].as_mut().unwrap().id = Some(format!("id-{slot}"));
        }
        expect
    };
    let ok_in = |e: &Expect, state: State, version: u64| matches!(e, Expect::Ok { after, .. } if after.state == state && after.version == version);
    assert_eq!(
        send(&mut model, Command::Assign, 0, Version::None, ""),
        Expect::NotFound
    );
    assert!(ok_in(
        &send(&mut model, Command::Receive, 0, Version::None, "k1"),
        State::Received,
        1
    ));
    assert!(ok_in(
        &send(&mut model, Command::Receive, 0, Version::None, "k1"),
        State::Received,
        1
    ));
    assert_eq!(
        send(&mut model, Command::Receive, 0, Version::None, ""),
        Expect::DuplicateNumber
    );
    assert_eq!(
        send(&mut model, Command::Sign, 0, Version::None, "k1"),
        Expect::RequestIdReused
    );
    assert_eq!(
        send(&mut model, Command::Sign, 0, Version::Stale(1), ""),
        Expect::VersionMismatch { current: 1 }
    );
    assert_eq!(
        send(&mut model, Command::Sign, 0, Version::Current, ""),
        Expect::InvalidTransition {
            current: State::Received,
            command: Command::Sign
        }
    );
    for (kind, state, version) in [
        (Command::Assign, State::Assigned, 2),
        (Command::Draft, State::Drafted, 3),
        (Command::Draft, State::Drafted, 4),
        (Command::RejectDraft, State::Assigned, 5),
        (Command::Return, State::Received, 6),
        (Command::Assign, State::Assigned, 7),
        (Command::Draft, State::Drafted, 8),
        (Command::Sign, State::Signed, 9),
        (Command::Issue, State::Issued, 10),
        (Command::Copy, State::Copied, 11),
    ] {
        let e = send(&mut model, kind, 0, Version::Current, "");
        assert!(ok_in(&e, state, version), "{kind:?}: {e:?}");
    }
    for kind in Command::ALL {
        let e = send(&mut model, kind, 0, Version::None, "");
        assert!(
            matches!(
                e,
                Expect::InvalidTransition { .. } | Expect::DuplicateNumber
            ),
            "{kind:?} after COPIED: {e:?}"
        );
    }
    // A second proposal reaching IssueReply with the same document number collides.
    for kind in [
        Command::Receive,
        Command::Assign,
        Command::Draft,
        Command::Sign,
    ] {
        assert!(matches!(
            send(&mut model, kind, 1, Version::None, ""),
            Expect::Ok { .. }
        ));
    }
    assert_eq!(
        send(&mut model, Command::Issue, 1, Version::None, ""),
        Expect::DuplicateDocument
    );
}
