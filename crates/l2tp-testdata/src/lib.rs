//! Test support shared by the workspace's crates (a dev-dependency only): where the shared
//! material is, and the real captures in `shared/captures/*.hex` (one packet per line:
//! `SRC>DST HEX`, L2TP bytes from the UDP payload on; see `shared/captures/README.md`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::PathBuf;

/// The `shared/` directory: `L2TP_SHARED_DIR` when set, else by the repository layout
/// (`<repo>/../shared`: CI checks the repository out with `shared/` beside it).
///
/// # Panics
/// When neither holds a `captures/` directory (a test cannot run without it).
pub fn shared_dir() -> PathBuf {
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("L2TP_SHARED_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared"
    )));
    for c in &candidates {
        if c.join("captures").is_dir() {
            return c.clone();
        }
    }
    panic!("shared/captures not found; set L2TP_SHARED_DIR (tried {candidates:?})");
}

/// The packets of capture `name` (`shared/captures/NAME.hex`) in file order: (direction label
/// `SRC>DST`, L2TP bytes).
///
/// # Panics
/// When the file is missing or a line is not `LABEL HEX`.
pub fn capture(name: &str) -> Vec<(String, Vec<u8>)> {
    let path = shared_dir().join("captures").join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (dir, hex) = l
                .split_once(' ')
                .unwrap_or_else(|| panic!("{path:?}: expect `SRC>DST HEX`, got {l:?}"));
            let bytes = hex::decode(hex.trim()).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            (dir.to_string(), bytes)
        })
        .collect()
}
