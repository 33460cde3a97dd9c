//! A gRPC server in this process, on a runtime of its own: started on 127.0.0.1:0, stopped
//! through its shutdown signal. Both the service under test and the floor's server run in one.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What a server's shutdown signal looks like to the function that serves it.
pub type Shutdown = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A server running in this process on a multi-threaded runtime of its own (so the load
/// generator's tasks do not share its worker threads), listening on 127.0.0.1:0.
pub struct Served<E> {
    /// What the server is, for errors ("the server", "the floor's server").
    name: &'static str,
    pub url: String,
    runtime: tokio::runtime::Runtime,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), E>>,
}

impl<E: std::fmt::Display + Send + 'static> Served<E> {
    /// Binds the listener on a new runtime and spawns `serve(listener, shutdown)` there.
    pub fn start<F, Fut>(name: &'static str, serve: F) -> Result<Self, String>
    where
        F: FnOnce(tokio::net::TcpListener, Shutdown) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
    {
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| format!("cannot start a runtime for {name}: {e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| format!("{name}: cannot listen on 127.0.0.1:0: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(serve(
            listener,
            Box::pin(async {
                let _ = stopped.await;
            }),
        ));
        Ok(Self {
            name,
            url: format!("http://{addr}"),
            runtime,
            stop,
            task,
        })
    }

    /// Signals the shutdown, waits for the server to end, and drops its runtime.
    pub fn stop(self) -> Result<(), String> {
        let Self {
            name,
            runtime,
            stop,
            task,
            ..
        } = self;
        let _ = stop.send(());
        let result = runtime.block_on(task);
        drop(runtime);
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{name} failed: {e}")),
            Err(e) => Err(format!("{name}'s task failed: {e}")),
        }
    }
}
