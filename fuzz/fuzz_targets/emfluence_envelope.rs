//! The emfluence envelope `{success, code, errors, data}` and the readers of its `data`:
//! groups, paging, contacts, per-contact results; then the dialect.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sgsync_emfluence::{dialect, wire};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(groups) = wire::parse_groups(&text) {
        for g in &groups {
            let _ = dialect::decode(g);
        }
    }
    if let Ok(data) = wire::read_envelope(&text) {
        let _ = wire::groups_in(&data, "data");
        let _ = wire::paging_in(&data);
        let _ = wire::has_next_page(&data, 1);
        let _ = wire::contacts_in(&data);
        let _ = wire::contact_results_in(&data);
        let _ = wire::read_contact(&data, "data");
    }
});
