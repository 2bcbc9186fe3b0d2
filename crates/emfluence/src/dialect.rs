//! emfluence holds no rule: its groups are static member lists (dynamic ones cannot be
//! created through the API, emfluence.md §3.1). A rule travels as a static group whose
//! description states the rule in words and whose `externalID` is our stable key; the
//! audience itself travels by membership materialisation, not by this translation.

use crate::wire::{Group, GroupKind, GroupSave};
use sgsync_model::{
    Findings, Opaque, ProviderKind, Rule, SmartGroup, SourceGroup, describe, stable_key,
};

const NOTES: &str = "Managed by sgsync: edits here are overwritten on the next sync.";

/// An emfluence group as a source: its rule is opaque (a static group is a list; a
/// dynamic group's query cannot be read through the API).
pub fn decode(group: &Group) -> SourceGroup {
    let why = match group.kind {
        Some(GroupKind::Dynamic) => {
            "emfluence dynamic group: its query cannot be read through the API"
        }
        _ => "emfluence static group: its audience is a member list, not a rule",
    };
    // A save request states no type; the API only ever creates static groups.
    let kind = match group.kind {
        Some(GroupKind::Dynamic) => "Dynamic",
        Some(GroupKind::Static) | None => "Static",
    };
    let raw = serde_json::json!({ "type": kind }).to_string();
    SourceGroup::certain(
        crate::KIND,
        SmartGroup {
            id: group.group_id.map(|id| id.to_string()),
            name: group.group_name.clone(),
            description: Some(group.description.clone()).filter(|d| !d.is_empty()),
            rule: Rule::Opaque(Opaque {
                dialect: crate::KIND,
                account: String::new(),
                raw,
                why: why.to_owned(),
                unavailable: false,
            }),
        },
    )
}

/// The `groups/save` body for `group`. Never exact: a static group does not follow a rule.
pub fn encode(group: &SmartGroup, source: ProviderKind) -> (Option<GroupSave>, Findings) {
    let mut findings = Findings::default();
    if group.name.trim().is_empty() {
        findings.impossible("name", "emfluence needs a non-empty, unique groupName");
        return (None, findings);
    }
    let description = match &group.rule {
        // A group read from emfluence keeps its own description.
        Rule::Opaque(o) if o.dialect == crate::KIND => {
            findings.lossy("rule", "static group: its members are a list, not a rule, and this translation does not copy them");
            group.description.clone().unwrap_or_default()
        }
        rule => {
            findings.lossy(
                "rule",
                "membership not kept in sync by rule: emfluence groups hold no rule (dynamic groups cannot be created through the API), so the group is static and its description states the rule",
            );
            describe(rule)
        }
    };
    let payload = GroupSave {
        group_id: None,
        group_name: group.name.clone(),
        description,
        status: "Active".to_owned(),
        private: 1,
        external_id: group.id.as_deref().map(|id| stable_key(source, id)),
        notes: NOTES.to_owned(),
    };
    (Some(payload), findings)
}

/// This provider's dialect. emfluence holds no rule, so no map is needed: a group's
/// rule travels as a description in words.
pub struct EmfluenceDialect;

impl EmfluenceDialect {
    pub fn new(_maps: std::sync::Arc<sgsync_model::mapping::Maps>) -> Self {
        EmfluenceDialect
    }
}

impl sgsync_provider::Dialect for EmfluenceDialect {
    fn kind(&self) -> ProviderKind {
        crate::KIND
    }

    fn decode(
        &self,
        text: &str,
        directory: &sgsync_model::Directory,
    ) -> Result<Vec<SourceGroup>, sgsync_provider::DecodeError> {
        let groups = crate::wire::parse_groups(text).map_err(|e| sgsync_provider::DecodeError {
            provider: crate::KIND,
            why: e.to_string(),
        })?;
        Ok(groups
            .iter()
            .map(|g| SourceGroup {
                account: directory.id.clone(),
                ..decode(g)
            })
            .collect())
    }

    fn encode(
        &self,
        source: &SourceGroup,
        directory: &sgsync_model::Directory,
    ) -> (Option<sgsync_provider::Payload>, Findings) {
        // No account-specific ids in this dialect: the directory changes nothing.
        let _ = directory;
        let (payload, findings) = encode(&source.group, source.provider);
        (payload.map(crate::payload), findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgsync_model::{Attribute, Fidelity, Op, Value};

    #[test]
    fn a_rule_becomes_a_described_static_group_with_the_stable_key() {
        let group = SmartGroup {
            id: Some("last-seen-35-days".into()),
            name: "Last Seen > 35 Days".into(),
            description: None,
            rule: Rule::All(vec![Rule::cond(
                Attribute::Property("last.seen".into()),
                Op::MoreThanAgo,
                Value::Days(35),
            )]),
        };
        let (payload, findings) = encode(&group, crate::test_kinds::GOSQUARED);
        let payload = payload.unwrap();
        assert_eq!(payload.description, "last.seen is more than 35 days ago");
        assert_eq!(
            payload.external_id.as_deref(),
            Some("sgsync:gosquared:last-seen-35-days")
        );
        assert!(
            matches!(findings.fidelity(), Fidelity::Lossy(r) if r[0].why.starts_with("membership not kept in sync by rule"))
        );
    }

    #[test]
    fn round_trip_keeps_name_and_description() {
        let groups = super::super::wire::parse_groups(
            r#"{"groupName":"Alpha","description":"Our list","type":"Static","groupID":"10"}"#,
        )
        .unwrap();
        let source = decode(&groups[0]);
        let (payload, _) = encode(&source.group, crate::KIND);
        let json = serde_json::to_string(&payload.unwrap()).unwrap();
        let again = decode(&super::super::wire::parse_groups(&json).unwrap()[0]);
        assert_eq!(again.group.name, source.group.name);
        assert_eq!(again.group.description, source.group.description);
        assert_eq!(again.group.rule, source.group.rule);
    }
}
