//! GoSquared People CRM (`https://api.gosquared.com/people/v1/`): smart groups
//! (`../shared/providers/gosquared.md`, seed `000_03dd6fd6c40f756c.txt`).
//!
//! Auth is two query parameters (`api_key`, `site_token`), so every URL is a secret
//! (gosquared.md §1). Smart groups can be listed, read by id and created; no update or
//! delete is documented (§2, §4), so GoSquared is a create-only target.

pub mod client;
pub mod dialect;
pub mod sandbox;
pub mod wire;
