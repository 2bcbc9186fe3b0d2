//! Bad input never panics and never expands entities: every decoder answers with a typed
//! error (or, for input that happens to be valid, a group).

use proptest::prelude::*;
use sgsync::model::ProviderKind;
use sgsync::model::mapping::Maps;
use sgsync::translate::{DecodeError, decode};

const GOSQUARED: &str = include_str!("../fixtures/gosquared/smartgroups_2016.json");
const ISPRING: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://ispringlearn.com/go/services/api/soap">
<SOAP-ENV:Body><AddSmartGroupRequest><credentials><token>t</token></credentials><name>G</name>
<rules><and><or><rule><attributeType>1</attributeType><attributeId></attributeId><operator>2</operator><value>d</value></rule></or></and></rules>
</AddSmartGroupRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
const EMFLUENCE: &str = r#"{"success":1,"code":0,"data":{"groupID":10,"groupName":"Alpha","description":"","type":"Static"}}"#;

fn samples() -> [(ProviderKind, &'static str); 3] {
    [
        (sgsync_gosquared::KIND, GOSQUARED),
        (sgsync_ispring::KIND, ISPRING),
        (sgsync_emfluence::KIND, EMFLUENCE),
    ]
}

#[test]
fn the_samples_themselves_decode() {
    for (provider, text) in samples() {
        let groups = decode(provider, text, &Maps::default());
        assert!(groups.is_ok_and(|g| !g.is_empty()), "{provider}");
    }
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let maps = Maps::default();
    for (provider, text) in samples() {
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let cut = &text[..end];
            // A prefix may still be a complete document (e.g. the XML up to the end of
            // the envelope); anything else must be refused.
            if let Ok(groups) = decode(provider, cut, &maps) {
                assert!(
                    !groups.is_empty() || cut.trim().is_empty(),
                    "{provider}: {cut:?}"
                );
            }
        }
    }
}

#[test]
fn xml_entity_declarations_are_refused_not_expanded() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rules><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>&lol3;</value></rule></or></and></rules>"#;
    let external = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rules><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>&x;</value></rule></or></and></rules>"#;
    let undeclared = "<rules><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>&x;</value></rule></or></and></rules>";
    for xml in [laughs, external, undeclared] {
        let err = decode(sgsync_ispring::KIND, xml, &Maps::default());
        assert!(
            matches!(err, Err(DecodeError { provider, .. }) if provider == sgsync_ispring::KIND),
            "{err:?}"
        );
    }
}

#[test]
fn huge_and_deep_inputs_are_bounded() {
    let maps = Maps::default();
    let big = "x".repeat(10 * 1024 * 1024);
    let json = format!(
        r#"{{"id":"g","name":"{big}","filters":[{{"key":"property","path":"email","operator":"contains","value":"{big}"}}]}}"#
    );
    let groups =
        decode(sgsync_gosquared::KIND, &json, &maps).expect("a big but valid group decodes");
    assert_eq!(groups[0].group.name.len(), big.len());
    let xml = format!(
        "<rules><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>{big}</value></rule></or></and></rules>"
    );
    assert!(decode(sgsync_ispring::KIND, &xml, &maps).is_ok());

    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(decode(sgsync_gosquared::KIND, &deep_json, &maps).is_err());
    let deep_filters = format!(
        r#"{{"name":"n","filters":[{}{}]}}"#,
        r#"{"key":"and","filters":["#.repeat(5_000),
        "]}".repeat(5_000)
    );
    assert!(decode(sgsync_gosquared::KIND, &deep_filters, &maps).is_err());
    let deep_xml = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    assert!(decode(sgsync_ispring::KIND, &deep_xml, &maps).is_err());
}

#[test]
fn wrong_types_name_the_place() {
    let maps = Maps::default();
    let err = decode(
        sgsync_gosquared::KIND,
        r#"{"list":[{"id":"a","name":"A","filters":"nope"}]}"#,
        &maps,
    )
    .map(|_| ())
    .expect_err("filters must be an array");
    assert!(err.to_string().contains("list[0].filters"), "{err}");
    let err = decode(sgsync_ispring::KIND, "<rules><and><or><rule><attributeType>x</attributeType><operator>1</operator><value>v</value></rule></or></and></rules>", &maps)
        .map(|_| ())
        .expect_err("attributeType must be a number");
    assert!(err.to_string().contains("attributeType"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), provider in 0usize..3) {
        let _ = decode(sgsync::translate::kinds()[provider], &text, &Maps::default());
    }

    #[test]
    fn mutated_samples_never_panic(which in 0usize..3, at in any::<prop::sample::Index>(), junk in "[<>&;\\[\\]{}\"',:0-9a-z ]{0,8}") {
        let (provider, text) = samples()[which];
        let mut cut = at.index(text.len());
        while !text.is_char_boundary(cut) { cut -= 1; }
        let mutated = format!("{}{junk}{}", &text[..cut], &text[cut..]);
        let _ = decode(provider, &mutated, &Maps::default());
    }
}
