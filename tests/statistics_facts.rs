mod common;

// The statistics' fast path equals their definition: for random sessions played through the
// pure core (refusals, merges, split and lead + co assignments, extensions, late replies,
// verdicts, reopenings, closings, key designations, returns), the figures the store's facts
// give as of a day equal the brute-force fold of the events up to that day, for every day an
// act happened on, the day before each, and a day long after; both with the facts kept act by
// act (as the store's commit does) and recomputed from each history (as verify does), and with
// the facts as a real sled store keeps them.

use std::collections::HashMap;

use common::hostile::config;
use common::sessions::{Session, scripts};
use proposal_service::domain::statistics::{
    ProposalFacts, SessionStatistics, statistics_by_fold, statistics_of_facts,
};
use proposal_service::domain::{CalendarDate, ProposalId, Rules, Timestamp};
use proposal_service::store::{SledOptions, SledStore};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn date_at(instant: Timestamp) -> CalendarDate {
    Rules::default().date_at(instant.unix_nanos())
}

/// Every day from the one before the first act to the one after the last, and one long after.
fn days_of(session: &Session) -> Vec<CalendarDate> {
    let Some(last) = session.days.last() else {
        return Vec::new();
    };
    let mut days = vec![CalendarDate::from_ymd(2023, 12, 31).unwrap()];
    while days.last() < Some(last) {
        days.push(days.last().unwrap().plus_days(1));
    }
    days.push(last.plus_days(1));
    days.push(last.plus_days(400));
    days
}

fn by_fold(session: &Session, day: CalendarDate) -> SessionStatistics {
    statistics_by_fold(
        session.histories.iter().map(Vec::as_slice),
        day,
        true,
        &date_at,
    )
}

fn check(script: &[common::sessions::Step], batch: usize) -> Result<(), TestCaseError> {
    let session = Session::play(script);
    // Act by act, as the store's commit keeps them.
    let mut kept: HashMap<ProposalId, ProposalFacts> = HashMap::new();
    for change in &session.changes {
        let facts = kept.entry(change.after.id).or_default();
        let earlier = facts.clone();
        facts.record_change(change.before.as_deref(), &change.events, &change.after);
        // What the store skips must indeed change nothing.
        if let Some(before) = change.before.as_deref()
            && ProposalFacts::unchanged_by(before, &change.events, &change.after)
        {
            prop_assert_eq!(
                &*facts,
                &earlier,
                "skipped, yet changed by {:?}",
                change.events
            );
        }
    }
    for history in &session.histories {
        let id = history[0].proposal_id;
        prop_assert_eq!(
            &kept[&id],
            &ProposalFacts::of_history(history),
            "kept and recomputed facts of {}",
            id
        );
    }
    // In a real store, committed in batches of `batch` changes.
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
    for changes in session.changes.chunks(batch) {
        store.commit(changes).unwrap();
    }
    let stored = match session.current.first() {
        Some(p) => store.session_facts(&p.committee, &p.session).unwrap(),
        None => Vec::new(),
    };
    prop_assert_eq!(stored.len(), session.histories.len());
    let verification = store.verify().unwrap();
    prop_assert!(
        verification.problems.is_empty(),
        "{:?}",
        verification.problems
    );
    for day in days_of(&session) {
        let expected = by_fold(&session, day);
        prop_assert_eq!(
            &statistics_of_facts(kept.values(), day, true, &date_at),
            &expected,
            "as of {}",
            day
        );
        prop_assert_eq!(
            &statistics_of_facts(&stored, day, true, &date_at),
            &expected,
            "stored, as of {}",
            day
        );
        let totals_only = statistics_of_facts(&stored, day, false, &date_at);
        prop_assert_eq!(&totals_only.totals, &expected.totals);
        prop_assert!(totals_only.units.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(48, file!()))]

    #[test]
    fn the_facts_give_the_figures_of_the_fold_on_every_day(
        script in scripts(120),
        batch in 1usize..8,
    ) {
        check(&script, batch)?;
    }
}

/// The scripts are not idle: over a few hundred random ones, every kind of figure is reached
/// (a script the core refuses at every step would prove nothing).
#[test]
fn random_sessions_reach_every_figure() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut reached = SessionStatistics::default().totals;
    let mut rows = 0;
    for _ in 0..300 {
        let script = scripts(120).new_tree(&mut runner).unwrap().current();
        let session = Session::play(&script);
        let last = session.days.last().copied();
        let Some(last) = last else { continue };
        let figures = by_fold(&session, last.plus_days(30));
        let t = figures.totals;
        reached.not_accepted += t.not_accepted;
        reached.merged += t.merged;
        reached.replied += t.replied;
        reached.replied_on_time += t.replied_on_time;
        reached.overdue += t.overdue;
        reached.not_satisfied += t.not_satisfied;
        reached.satisfied += t.satisfied + t.basically_satisfied;
        reached.reopened += t.reopened;
        reached.closed += t.closed;
        reached.key_replied += t.key_replied;
        rows += figures
            .units
            .iter()
            .filter(|u| u.co > 0 && u.opinions_submitted > 0)
            .count();
        rows += figures
            .units
            .iter()
            .filter(|u| u.split > 0 && u.replied > 0)
            .count();
    }
    for (what, count) in [
        ("not accepted", reached.not_accepted),
        ("merged", reached.merged),
        ("replied", reached.replied),
        ("replied on time", reached.replied_on_time),
        ("overdue", reached.overdue),
        ("not satisfied", reached.not_satisfied),
        ("satisfied", reached.satisfied),
        ("reopened", reached.reopened),
        ("closed", reached.closed),
        ("key replied", reached.key_replied),
        ("co opinions and split replies", rows as u32),
    ] {
        assert!(count > 0, "no random session reached {what}: {reached:?}");
    }
}
