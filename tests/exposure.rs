mod common;

// Exposure: a server on a non-loopback address needs a principals file and TLS (or
// `--insecure`), in `serve()` and in the binary, which also refuses an invalid principals file
// and never announces a refused start as listening.

use std::path::Path;
use std::sync::Arc;

use common::principals::{
    AUDITOR, DEADLINE, EVERYONE, client_as, client_with, connect, principals_json, works,
    write_atomically,
};
use common::process::{ServerProcess, Started, temp_data_dir};
use common::server::sled_store;
use common::status::assert_unauthenticated;
use proposal_service::auth::Authenticator;
use proposal_service::pb;
use proposal_service::server::{self, ServeError, ServeOptions};
use proposal_service::store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_loopback_address_needs_principals_and_tls_or_insecure() {
    let reason = refusal_on_every_address(ServeOptions::default()).await;
    assert!(reason.contains("principals"), "{reason}");

    let principals = tempfile::tempdir().unwrap();
    let reason = refusal_on_every_address(guarded_options(principals.path())).await;
    assert!(reason.contains("--insecure"), "{reason}");

    // With --insecure it serves, and callers still authenticate.
    let temp = tempfile::tempdir().unwrap();
    let store = fresh_store(&temp).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = ServeOptions {
        insecure: true,
        ..guarded_options(principals.path())
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(store, listener, options, async {
        let _ = stopped.await;
    }));
    let channel = connect(std::net::SocketAddr::from(([127, 0, 0, 1], port))).await;
    works(
        &client_as(&channel, AUDITOR.name),
        "an insecure exposed server",
    )
    .await;
    assert_unauthenticated(
        client_with(&channel, None)
            .list_proposals(pb::ListProposalsRequest::default())
            .await,
        "an insecure exposed server without credentials",
    );
    let _ = stop.send(());
    serving.await.unwrap().expect("served and stopped cleanly");
}

/// Starts the binary on `listen` with `args`; it must exit on its own with a failure status.

#[test]
fn the_binary_refuses_a_non_loopback_address_without_principals_or_tls() {
    let log = refused_binary("0.0.0.0:0", &[]);
    assert!(log.contains("--principals"), "{log}");

    let principals = tempfile::tempdir().unwrap();
    let file = principals.path().join("principals.json");
    write_atomically(&file, &principals_json(&EVERYONE));
    let log = refused_binary("0.0.0.0:0", &["--principals", file.to_str().unwrap()]);
    assert!(log.contains("--insecure"), "{log}");
}

/// A principals file the server cannot use stops the start, naming the file and the reason
/// (the unit test in `src/auth/principals.rs` walks every reason, at start and at reload).
#[test]
fn the_binary_refuses_to_start_with_an_invalid_principals_file() {
    let files = tempfile::tempdir().unwrap();
    let missing = files.path().join("missing.json");
    let log = refused_binary("127.0.0.1:0", &["--principals", missing.to_str().unwrap()]);
    assert!(log.contains("missing.json"), "{log}");
    let file = files.path().join("principals.json");
    write_atomically(&file, r#"{"principals": [{"name": "u", "role": "unit"}]}"#);
    let log = refused_binary("127.0.0.1:0", &["--principals", file.to_str().unwrap()]);
    assert!(log.contains("principals.json"), "{log}");
    assert!(log.contains("needs the unit it acts for"), "{log}");
    assert!(!log.contains("proposal-server listening"), "{log}");
}

/// `main` logs "proposal-server listening" (the line that says the server is up, and that
/// supervisors and this harness wait for) before `serve()` checks the exposure rules, so a
/// refused start first announces itself as up. A refused start must not say it is listening.
#[test]
fn a_refused_binary_never_says_it_is_listening() {
    let log = refused_binary("0.0.0.0:0", &[]);
    assert!(
        !log.contains("proposal-server listening"),
        "the refused server announced itself as listening:\n{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A fresh store for a server started by hand.
async fn fresh_store(temp: &tempfile::TempDir) -> Arc<dyn Store> {
    let dir = temp.path().join("data");
    tokio::task::spawn_blocking(move || sled_store()(&dir))
        .await
        .unwrap()
}

/// Why `serve()` refuses to listen on 0.0.0.0 with `options` (it must refuse at once).
async fn refusal_on_every_address(options: ServeOptions) -> String {
    let temp = tempfile::tempdir().unwrap();
    let store = fresh_store(&temp).await;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let served = tokio::time::timeout(
        DEADLINE,
        server::serve(store, listener, options, std::future::pending()),
    )
    .await
    .expect("a refused server returns at once");
    match served {
        Err(error @ ServeError::Refused(_)) => error.to_string(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn guarded_options(principals: &Path) -> ServeOptions {
    let path = principals.join("principals.json");
    write_atomically(&path, &principals_json(&EVERYONE));
    ServeOptions {
        authenticator: Arc::new(Authenticator::from_file(&path).unwrap()),
        ..ServeOptions::default()
    }
}

/// Returns everything it logged.
fn refused_binary(listen: &str, args: &[&str]) -> String {
    let (_temp, data_dir) = temp_data_dir();
    let (status, log) = match ServerProcess::start_listening(&data_dir, listen, args) {
        Started::Refused(status, log) => (status, log),
        Started::Running(server) => server
            .wait_for_exit(DEADLINE)
            .unwrap_or_else(|| panic!("proposal-server {listen} {args:?} kept running")),
    };
    let log = log.join("\n");
    assert!(!status.success(), "exited with {status}:\n{log}");
    log
}
