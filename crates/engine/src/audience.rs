//! Whether a unit's audience travels as a rule or as members — pure, shared by the
//! planner (which writes a static group instead of a rule) and the membership stage
//! (which fills only the static groups).
//!
//! On a target whose every group is a static list (emfluence) the rule never travels:
//! the dialect's payload is the static group already, and `membership` says whether its
//! members are copied. On a target that holds rules (iSpring Learn), a group whose rule
//! cannot travel (or, with `when_rule_lossy`, travels only approximately) becomes a
//! static group that sgsync owns: the dialect's static shell replaces the rule payload,
//! and its fidelity says so with a reason at [`STATIC_GROUP_AT`] (shown as snapshot).

use super::plan::TargetPolicy;
use sgsync_model::members::{MembershipMode, STATIC_GROUP_AT};
use sgsync_model::{Fidelity, Reason, SourceGroup};
use sgsync_provider::Translation;

/// `translation` of `source` for `target`, with the rule replaced by a static group
/// when the target's membership says the audience travels as members.
pub fn shell(translation: Translation, source: &SourceGroup, target: &TargetPolicy) -> Translation {
    let mode = target.membership.mode;
    if !target.capabilities.holds_rules
        || !translation.unavailable.is_empty()
        || !mode.replaces_rule(&translation.fidelity)
    {
        return translation;
    }
    let Some(payload) = target.dialect.static_shell(source) else {
        return translation;
    };
    let why = match &translation.fidelity {
        Fidelity::Exact => "membership = \"always\"".to_owned(),
        other => {
            let label = if other.is_impossible() {
                "impossible"
            } else {
                "lossy"
            };
            let reasons: Vec<String> = other.reasons().iter().map(ToString::to_string).collect();
            format!("the rule is {label} here ({})", reasons.join("; "))
        }
    };
    Translation {
        payload: Some(payload),
        fidelity: Fidelity::Lossy(vec![Reason::new(
            STATIC_GROUP_AT,
            format!(
                "a static group sgsync owns, because {why}: its members are the source group's people who have an account here, matched by email (snapshot)"
            ),
        )]),
        unavailable: Vec::new(),
    }
}

/// Whether the unit's members are materialised: its translated `fidelity` (after
/// [`shell`]) on `target`.
pub fn by_members(target: &TargetPolicy, fidelity: &Fidelity) -> bool {
    let mode = target.membership.mode;
    if mode == MembershipMode::Off {
        return false;
    }
    if target.capabilities.holds_rules {
        fidelity.reasons().iter().any(|r| r.at == STATIC_GROUP_AT)
    } else {
        mode.applies(fidelity.is_exact())
    }
}
