//! The machine-readable event stream (`--events json`): one JSON object per line.
//!
//! Fields (all events): `ts` (seconds since the Unix epoch, float), `event` (`tunnel_up`,
//! `tunnel_down`, `session_up`, `session_down`), `tunnel` (configured name), `tunnel_id`
//! (local ID). Session events add `session` (name) and `session_id`. Up events add the peer's
//! IDs; down events add `reason` (`local`, `peer`, `timeout`, `protocol`, `tunnel_down`) and,
//! where a Result Code was exchanged, `result_code`, `error_code` and `message`.

use l2tp_runtime::control::Event;
use l2tp_runtime::RuntimeEvent;

/// Renders one event as a single JSON line (no trailing newline): the control protocol's
/// [`Event`] (one definition for `--events json` and `l2tpctl monitor`).
pub fn to_json_line(ev: &RuntimeEvent) -> String {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    serde_json::to_string(&Event::from_runtime(ev, ts)).unwrap_or_default()
}
