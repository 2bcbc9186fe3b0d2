//! Final states of the target sandboxes, without the ids that differ between two
//! worlds fed the same source: what the crash test and the fault storm compare with
//! their fault-free reference.

/// iSpring smart groups as (name, rules), sorted: ids differ between two worlds fed the
/// same source, so final states are compared without them.
pub fn lms_state(is: &sgsync::sandbox::ispring::Sandbox) -> Vec<(String, String)> {
    let mut v: Vec<_> = is
        .smart_groups()
        .into_iter()
        .map(|g| (g.name, format!("{:?}", g.rules)))
        .collect();
    v.sort();
    v
}

/// emfluence groups as what sgsync writes (key, name, description, status, notes), sorted.
pub fn newsletter_state(
    em: &sgsync::sandbox::emfluence::Sandbox,
) -> Vec<(String, String, String, String, String)> {
    let mut v: Vec<_> = em
        .groups()
        .into_iter()
        .map(|g| (g.external_id, g.name, g.description, g.status, g.notes))
        .collect();
    v.sort();
    v
}
