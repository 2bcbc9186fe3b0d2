//! The config loader: TOML → raw layer (`deny_unknown_fields`, `*_file` secrets) →
//! validated settings (URLs, cron, mapping), with and without environment overrides.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = sgsync::config::load_str("fuzz.toml", &text, &[]);
});
