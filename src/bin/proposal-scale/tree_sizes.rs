//! `tree-sizes`: the logical bytes (keys and values) held in each sled tree, to see where the
//! disk goes.

use proposal_service::store::{SledOptions, SledStore};
use serde::Serialize;

use crate::args::TreeSizesArgs;

#[derive(Debug, Serialize)]
pub struct TreeSize {
    pub tree: String,
    pub entries: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
}

pub fn tree_sizes(args: &TreeSizesArgs) -> Result<Vec<TreeSize>, String> {
    // Through the store first: it takes the directory's lock and checks the format.
    let store = SledStore::open(&args.data_dir, &SledOptions::default())
        .map_err(|e| format!("cannot open {}: {e}", args.data_dir.display()))?;
    drop(store);
    let db = sled::Config::new()
        .path(args.data_dir.join("sled"))
        .open()
        .map_err(|e| e.to_string())?;
    let mut sizes = Vec::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name).map_err(|e| e.to_string())?;
        let mut size = TreeSize {
            tree: String::from_utf8_lossy(&name).into_owned(),
            entries: 0,
            key_bytes: 0,
            value_bytes: 0,
        };
        for entry in tree.iter() {
            let (key, value) = entry.map_err(|e| e.to_string())?;
            size.entries += 1;
            size.key_bytes += key.len() as u64;
            size.value_bytes += value.len() as u64;
        }
        sizes.push(size);
    }
    Ok(sizes)
}
