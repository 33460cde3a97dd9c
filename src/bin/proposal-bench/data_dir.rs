//! Where a server under test keeps its data: a directory given on the command line, or a
//! temporary one removed at the end.

use std::path::PathBuf;

/// A data directory, removed on drop when this run created it.
pub struct DataDir {
    pub path: PathBuf,
    remove: bool,
}

impl DataDir {
    /// A fresh directory under the system temporary directory, its name `prefix` and then the
    /// process id and a UUIDv7, unique across concurrent and successive runs.
    pub fn temporary(prefix: &str) -> Self {
        let name = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        Self {
            path: std::env::temp_dir().join(name),
            remove: true,
        }
    }

    pub fn given(path: PathBuf) -> Self {
        Self {
            path,
            remove: false,
        }
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.remove
            && self.path.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.path)
        {
            eprintln!("proposal-bench: cannot remove {}: {e}", self.path.display());
        }
    }
}
