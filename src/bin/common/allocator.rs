//! The allocator of the service's binaries (`proposal-server`, the tools that measure it exactly
//! as it runs, and `proposalctl`, whose `export` and `import` open the store directly), and the
//! one thing they ask of it. The library sets no allocator.

/// mimalloc instead of the system allocator: reads decode many small records, and glibc's
/// malloc spent a third of the read path's time in its bins (BENCHMARKS.md, "mimalloc and
/// reads").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Gives the memory freed so far on this thread back to the OS now. Opening a large store
/// replays sled's log, which allocates and frees hundreds of MiB on the opening thread; mimalloc
/// would otherwise keep much of it for reuse (about 200 MiB more resident after opening
/// 1,000,000 proposals than with glibc). Call it once, on the thread that opened the store,
/// right after; not on a hot path (purging eagerly on every free cost a tenth of the writes).
pub fn release_free_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called on any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
