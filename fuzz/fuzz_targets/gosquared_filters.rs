//! GoSquared answers and the filter decoder: `wire::parse_group_list` (both error
//! envelopes, list/bare/array shapes), then `dialect::decode` of every group and its
//! translation to the other two dialects; the people and token readers too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sgsync::model::mapping::Maps;
use sgsync_gosquared::{dialect, wire};
use sgsync::translate::translate;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let maps = Maps::default();
    if let Ok(list) = wire::parse_group_list(&text) {
        for g in &list.groups {
            let source = dialect::decode(g, &maps);
            for to in [sgsync_ispring::KIND, sgsync_emfluence::KIND] {
                let _ = translate(&source, to, &maps);
            }
        }
    }
    let _ = wire::parse_people(&text);
    let _ = wire::parse_token_info(&text);
});
