//! The embedded sled store against the storage contract (`tests/conformance/`), check by check.

mod conformance;

use std::path::Path;

use conformance::Backend;
use proposal_service::store::{SledOptions, SledStore};

struct Sled;

impl Backend for Sled {
    type Store = SledStore;

    fn open(&self, dir: &Path) -> SledStore {
        SledStore::open(dir, &SledOptions::default()).expect("opening the sled store")
    }
}

#[test]
fn an_empty_store_holds_nothing() {
    conformance::an_empty_store_holds_nothing(&Sled);
}

#[test]
fn a_commit_reads_back_exactly() {
    conformance::a_commit_reads_back_exactly(&Sled);
}

#[test]
fn a_batch_of_changes_commits_together() {
    conformance::a_batch_of_changes_commits_together(&Sled);
}

#[test]
fn a_commit_that_skips_a_position_is_refused_whole() {
    conformance::a_commit_that_skips_a_position_is_refused_whole(&Sled);
}

#[test]
fn the_log_reads_by_scope_in_order() {
    conformance::the_log_reads_by_scope_in_order(&Sled);
}

#[test]
fn listings_page_through_exactly_the_matches() {
    conformance::listings_page_through_exactly_the_matches(&Sled);
}

#[test]
fn backward_moves_keep_projection_and_indexes_exact() {
    conformance::backward_moves_keep_projection_and_indexes_exact(&Sled);
}

#[test]
fn what_is_committed_survives_a_reopen() {
    conformance::what_is_committed_survives_a_reopen(&Sled);
}

#[test]
fn a_reopened_proposal_keeps_its_earlier_round() {
    conformance::a_reopened_proposal_keeps_its_earlier_round(&Sled);
}

#[test]
fn a_sessions_facts_are_those_of_its_proposals_histories() {
    conformance::a_sessions_facts_are_those_of_its_proposals_histories(&Sled);
}
