//! The iSpring SOAP/XML reader: roxmltree under sgsync's refusals and limits (DOCTYPE and
//! entities, depth, element and node counts, undeclared prefixes, the scan that names
//! an unclosed tag), every answer reader on top of it and the sandbox's request reader,
//! then the dialect and the translations of whatever parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sgsync::model::mapping::Maps;
use sgsync_ispring::{dialect, wire};
use sgsync::translate::translate;

fuzz_target!(|data: &[u8]| {
    // The client refuses non-UTF-8 answers before parsing; lossy text still reaches
    // the parser with every byte pattern a mutation can make.
    let text = String::from_utf8_lossy(data);
    let maps = Maps::default();
    if let Ok(groups) = wire::parse_groups(&text) {
        for g in &groups {
            let source = dialect::decode(g, &maps);
            for to in [sgsync_gosquared::KIND, sgsync_emfluence::KIND] {
                let _ = translate(&source, to, &maps);
            }
        }
    }
    let _ = wire::parse_add_result(&text);
    let _ = wire::parse_success(&text);
    let _ = sgsync::sandbox::ispring::parse_soap_call(&text);
    let _ = wire::parse_group_refs(&text);
    let _ = wire::parse_group_detail(&text);
    let _ = wire::parse_departments(&text);
    let _ = wire::parse_profile_fields(&text);
    let _ = wire::WireRule::from_fragment(&text);
});
