//! One behaviour suite that every `Provider` implementation must pass, run against each
//! provider's sandbox through the trait only (the engine's view). Provider-specific
//! details live in `contract_<provider>.rs`.

use sgsync::model::mapping::{MappingConfig, Maps};
use sgsync::model::{
    Attribute, DepartmentScope, Op, ProviderKind, Rule, SmartGroup, SourceGroup, Value, stable_key,
};
use sgsync::provider::http::HttpSettings;
use sgsync::provider::{ErrorKind, Payload, Provider};
use sgsync::sandbox::Seed;
use sgsync::translate::translate;
use sgsync_emfluence as emfluence;
use sgsync_gosquared as gosquared;
use sgsync_ispring as ispring;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn fast(_provider: ProviderKind) -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_secs(2),
        max_retries: 2,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        requests_per_minute: 60_000,
        ..HttpSettings::default()
    }
}

/// A provider under test, the sandbox kept alive beside it, and a rule it can hold.
struct Subject {
    provider: Box<dyn Provider>,
    maps: Arc<Maps>,
    rule: Rule,
    changed: Rule,
    _sandbox: Box<dyn std::any::Any + Send>,
}

fn contains(path: &str, text: &str) -> Rule {
    Rule::All(vec![Rule::cond(
        Attribute::Property(path.into()),
        Op::Contains,
        Value::string(text),
    )])
}

async fn gosquared_subject() -> Subject {
    let sandbox = sgsync::sandbox::gosquared::Sandbox::start(Seed::Empty)
        .await
        .expect("sandbox starts");
    let maps = Arc::new(Maps::default());
    let client = gosquared::client::GoSquaredClient::new(
        sandbox.config(),
        fast(sgsync_gosquared::KIND),
        maps.clone(),
    )
    .expect("client builds");
    Subject {
        provider: Box::new(client),
        maps,
        rule: contains("email", "@example.com"),
        changed: contains("email", "@example.org"),
        _sandbox: Box::new(sandbox),
    }
}

async fn ispring_subject() -> Subject {
    let sandbox = sgsync::sandbox::ispring::Sandbox::start(Seed::Demo)
        .await
        .expect("sandbox starts");
    let probe = ispring::client::IspringClient::new(
        sandbox.config(),
        fast(sgsync_ispring::KIND),
        Arc::new(Maps::default()),
    )
    .expect("client builds");
    // Department rules must name departments the account has.
    let departments = probe.departments().await.expect("departments are readable");
    assert!(
        departments.len() >= 2,
        "the demo account has a department tree"
    );
    let mapping = MappingConfig {
        departments: BTreeMap::from([
            ("first".to_owned(), departments[0].id.clone()),
            ("second".to_owned(), departments[1].id.clone()),
        ]),
        ..MappingConfig::default()
    };
    let maps = Arc::new(Maps::from_config(&mapping).expect("valid mapping"));
    let client = ispring::client::IspringClient::new(
        sandbox.config(),
        fast(sgsync_ispring::KIND),
        maps.clone(),
    )
    .expect("client builds");
    let department = |key: &str| {
        Rule::All(vec![Rule::Any(vec![Rule::cond(
            Attribute::Department {
                scope: DepartmentScope::WithDescendants,
            },
            Op::Equals,
            Value::string(key),
        )])])
    };
    Subject {
        provider: Box::new(client),
        maps,
        rule: department("first"),
        changed: department("second"),
        _sandbox: Box::new(sandbox),
    }
}

async fn emfluence_subject() -> Subject {
    let sandbox = sgsync::sandbox::emfluence::Sandbox::start(Seed::Empty)
        .await
        .expect("sandbox starts");
    let maps = Arc::new(Maps::default());
    let client = emfluence::client::EmfluenceClient::new(
        sandbox.config(),
        fast(sgsync_emfluence::KIND),
        maps.clone(),
    )
    .expect("client builds");
    Subject {
        provider: Box::new(client),
        maps,
        rule: contains("email", "@example.com"),
        changed: contains("email", "@example.org"),
        _sandbox: Box::new(sandbox),
    }
}

fn payload(subject: &Subject, name: &str, rule: &Rule) -> Payload {
    let source = SourceGroup::certain(
        sgsync_gosquared::KIND,
        SmartGroup {
            id: Some("behaviour-1".into()),
            name: name.into(),
            description: None,
            rule: rule.clone(),
        },
    );
    let t = translate(&source, subject.provider.kind(), &subject.maps);
    t.payload.unwrap_or_else(|| {
        panic!(
            "{}: test rule must be writable: {}",
            subject.provider.kind(),
            t.fidelity
        )
    })
}

/// The whole life of one group, through the trait only.
async fn behaves(subject: Subject) {
    let p = subject.provider.as_ref();
    let kind = p.kind();
    let caps = p.capabilities();
    assert!(
        caps.list && caps.get && caps.create,
        "{kind}: the engine needs list, get and create"
    );
    p.check()
        .await
        .unwrap_or_else(|e| panic!("{kind}: check: {e}"));

    let name = "sgsync behaviour group";
    let key = stable_key(sgsync_gosquared::KIND, "behaviour-1");
    assert_eq!(
        p.find_by_key(name, &key).await.expect("find works"),
        None,
        "{kind}: nothing yet"
    );
    assert_eq!(
        p.get_group("no-such-group-4711").await.expect("get works"),
        None,
        "{kind}"
    );

    let id = p
        .create(&key, &payload(&subject, name, &subject.rule))
        .await
        .unwrap_or_else(|e| panic!("{kind}: create: {e}"));
    let found = p
        .find_by_key(name, &key)
        .await
        .expect("find works")
        .unwrap_or_else(|| panic!("{kind}: created group not found"));
    assert_eq!(found.id, id, "{kind}");
    assert_eq!(found.name, name, "{kind}");
    if caps.stores_key {
        assert_eq!(found.key.as_deref(), Some(key.as_str()), "{kind}");
    }
    let got = p
        .get_group(&id)
        .await
        .expect("get works")
        .unwrap_or_else(|| panic!("{kind}: get by id"));
    assert_eq!(got.name, name, "{kind}");
    if caps.holds_rules {
        assert_eq!(
            got.decoded.group.rule, subject.rule,
            "{kind}: the rule reads back as written"
        );
    }
    assert!(
        p.list_groups(&sgsync::model::Directory::none())
            .await
            .expect("list works")
            .iter()
            .any(|g| g.id == id),
        "{kind}: listed"
    );

    // Another provider's payload is refused before any network call.
    let other = if kind == sgsync_gosquared::KIND {
        sgsync_emfluence::KIND
    } else {
        sgsync_gosquared::KIND
    };
    let foreign = translate(
        &SourceGroup::certain(
            sgsync_gosquared::KIND,
            SmartGroup {
                id: None,
                name: "x".into(),
                description: None,
                rule: subject.rule.clone(),
            },
        ),
        other,
        &Maps::default(),
    );
    if let Some(foreign) = foreign.payload {
        let err = p.create(&key, &foreign).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config, "{kind}: {err}");
    }

    let update = p
        .update(&id, &key, &payload(&subject, name, &subject.changed))
        .await;
    if caps.update {
        update.unwrap_or_else(|e| panic!("{kind}: update: {e}"));
        if caps.holds_rules {
            let got = p
                .get_group(&id)
                .await
                .expect("get works")
                .expect("still there");
            assert_eq!(
                got.decoded.group.rule, subject.changed,
                "{kind}: the update reads back"
            );
        }
    } else {
        assert_eq!(
            update.unwrap_err().kind,
            ErrorKind::Unsupported,
            "{kind}: says it cannot update"
        );
    }

    // Each of archive and delete either works (the group leaves the list) or says it
    // is unsupported, as the capabilities claim; a provider with both is archived.
    for (verb, can) in [
        ("archive", caps.archive),
        ("delete", caps.delete && !caps.archive),
    ] {
        let done = if verb == "archive" {
            p.archive(&id).await
        } else {
            p.delete(&id).await
        };
        if can {
            done.unwrap_or_else(|e| panic!("{kind}: {verb}: {e}"));
            assert!(
                !p.list_groups(&sgsync::model::Directory::none())
                    .await
                    .expect("list works")
                    .iter()
                    .any(|g| g.id == id),
                "{kind}: gone from the list after {verb}"
            );
        } else if !(verb == "delete" && caps.archive) {
            assert_eq!(
                done.unwrap_err().kind,
                ErrorKind::Unsupported,
                "{kind}: says it cannot {verb}"
            );
        }
    }
}

#[tokio::test]
async fn gosquared_behaves() {
    behaves(gosquared_subject().await).await;
}

#[tokio::test]
async fn ispring_behaves() {
    behaves(ispring_subject().await).await;
}

#[tokio::test]
async fn emfluence_behaves() {
    behaves(emfluence_subject().await).await;
}
