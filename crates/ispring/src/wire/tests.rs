//! The wire module's tests: the seeds, every reader, the writers' round trip, and the
//! XML refusals and limits.

use super::*;

const ADD_REQUEST: &str = include_str!("../../../../tests/fixtures/ispring/add_request_seed.xml");
const ADD_RESPONSE: &str = include_str!("../../../../tests/fixtures/ispring/add_response_seed.xml");
const UPDATE_REQUEST: &str =
    include_str!("../../../../tests/fixtures/ispring/update_request_seed.xml");
const UPDATE_RESPONSE: &str =
    include_str!("../../../../tests/fixtures/ispring/update_response_seed.xml");
const GET_RULES: &str = include_str!("../../../../tests/fixtures/ispring/get_rules_response.xml");
const REST_RULES: &str = include_str!("../../../../tests/fixtures/ispring/rest_rules_response.xml");
const FAULT: &str = include_str!("../../../../tests/fixtures/ispring/fault.xml");

/// The seed with only the documented typo corrected (ispring.md §7.1).
fn fixed(seed: &str) -> String {
    seed.replace(
        "<attributeType>1<attributeType>",
        "<attributeType>1</attributeType>",
    )
}

fn rule(t: u8, id: Option<&str>, op: u8, value: &str) -> WireRule {
    WireRule {
        attribute_type: t,
        attribute_id: id.map(str::to_owned),
        operator: op,
        value: value.to_owned(),
    }
}

#[test]
fn seed_add_request_with_its_typo_is_rejected_naming_element_and_lines() {
    let err = parse_groups(ADD_REQUEST).unwrap_err();
    assert!(
        matches!(&err, WireError::Unclosed { open, line: 14, found, found_line: 18 }
            if open == "attributeType" && found == "</rule>"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "line 14: <attributeType> is never closed (found </rule> at line 18)"
    );
}

#[test]
fn seed_update_request_with_its_typo_is_rejected_naming_element_and_lines() {
    let err = parse_groups(UPDATE_REQUEST).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 15: <attributeType> is never closed (found </rule> at line 19)"
    );
}

#[test]
fn corrected_seed_requests_parse() {
    let add = parse_groups(&fixed(ADD_REQUEST)).unwrap();
    assert_eq!(add.len(), 1);
    assert_eq!(add[0].name.as_deref(), Some(" NEW GROUP"));
    assert_eq!(add[0].id, None);
    assert_eq!(
        add[0].rules,
        Rules::Nested(vec![vec![
            rule(1, None, 2, "id_department"),
            rule(2, None, 1, "id_group"),
            rule(3, Some("JON_TITLE"), 1, "Sales Manager"),
        ]])
    );
    let update = parse_groups(&fixed(UPDATE_REQUEST)).unwrap();
    assert_eq!(update.len(), 1);
    assert_eq!(
        update[0].id.as_deref(),
        Some("06a7dcfe-e05a-11e9-b1e5-0a580af40b37")
    );
    assert_eq!(update[0].name.as_deref(), Some("NEW GROUP"));
    let Rules::Nested(clauses) = &update[0].rules else {
        panic!("{:?}", update[0].rules)
    };
    assert_eq!(
        clauses[0][2],
        rule(3, Some("JOB_TITLE"), 1, "Sales Manager")
    );
}

#[test]
fn seed_responses_parse() {
    assert_eq!(parse_add_result(ADD_RESPONSE).unwrap(), "string");
    // Placeholder namespace https://new.webservice.namespace (ispring.md §7.2).
    assert!(parse_success(UPDATE_RESPONSE).unwrap());
    let lower = "<successResult><success>0</success></successResult>";
    assert!(!parse_success(lower).unwrap());
    let bad = "<SuccessResult><success>yes</success></SuccessResult>";
    assert!(matches!(parse_success(bad), Err(WireError::Shape { .. })));
    assert!(matches!(
        parse_add_result(UPDATE_RESPONSE),
        Err(WireError::Shape { .. })
    ));
}

#[test]
fn fault_is_reported_by_every_reader() {
    for result in [
        parse_groups(FAULT).map(|_| ()),
        parse_add_result(FAULT).map(|_| ()),
        parse_success(FAULT).map(|_| ()),
    ] {
        match result {
            Err(WireError::Fault { code, message }) => {
                assert_eq!(code, "client");
                assert_eq!(message, "Wrong parameters");
            }
            other => panic!("{other:?}"),
        }
    }
    let bare = "<SOAP-ENV:Fault><faultcode>client</faultcode><faultstring>Wrong parameters</faultstring></SOAP-ENV:Fault>";
    assert!(matches!(parse_groups(bare), Err(WireError::Fault { .. })));
}

#[test]
fn flat_get_rules_result_and_rest_shapes() {
    let flat = parse_groups(GET_RULES).unwrap();
    assert_eq!(
        flat[0].id.as_deref(),
        Some("e7fa2c2a-0000-11e9-8000-0a580af40001")
    );
    assert_eq!(
        flat[0].rules,
        Rules::Flat(vec![rule(
            1,
            None,
            2,
            "d48bd4fa-0000-11e9-8000-0a580af40002"
        )])
    );
    let rest = parse_groups(REST_RULES).unwrap();
    assert_eq!(
        rest[0].id.as_deref(),
        Some("06a7dcfe-e05a-11e9-b1e5-0a580af40b37")
    );
    let Rules::Nested(clauses) = &rest[0].rules else {
        panic!()
    };
    assert_eq!(clauses.len(), 1);
    assert_eq!(clauses[0].len(), 3);
    let request = "<request><name>Active Sales</name><rules><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>g</value></rule></or></and><and><or><rule><attributeType>2</attributeType><operator>1</operator><value>h</value></rule><rule><attributeType>2</attributeType><operator>1</operator><value>i</value></rule></or></and></rules></request>";
    let g = parse_groups(request).unwrap();
    assert_eq!(g[0].name.as_deref(), Some("Active Sales"));
    assert_eq!(
        g[0].rules,
        Rules::Nested(vec![
            vec![rule(2, None, 1, "g")],
            vec![rule(2, None, 1, "h"), rule(2, None, 1, "i")],
        ])
    );
    let error = "<response><code>403</code><message>Permission denied</message></response>";
    assert!(matches!(parse_groups(error), Err(WireError::Fault { code, .. }) if code == "403"));
}

#[test]
fn payload_round_trips_exactly_through_to_xml() {
    let payload = SmartGroupPayload {
        name: "  Sales & <Marketing> \"EU\" 'x'\r\n\ttabs ".to_owned(),
        rules: vec![
            vec![
                rule(1, None, 2, " id with spaces "),
                rule(2, None, 1, "a&b"),
            ],
            vec![rule(3, Some("JOB_TITLE"), 1, "line1\r\nline2\rx]]>")],
            vec![rule(7, Some("X"), 9, "")],
        ],
    };
    let xml = payload.to_xml();
    assert!(xml.starts_with(
        "<AddSmartGroupRequest xmlns=\"http://ispringlearn.com/go/services/api/soap\">\n  <name>"
    ));
    assert!(xml.contains("<attributeId></attributeId>"));
    let back = parse_groups(&xml).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].name.as_deref(), Some(payload.name.as_str()));
    assert_eq!(back[0].rules, Rules::Nested(payload.rules.clone()));
    for clause in &payload.rules {
        for r in clause {
            assert_eq!(&WireRule::from_fragment(&r.to_fragment()).unwrap(), r);
        }
    }
}

#[test]
fn reference_data_readers() {
    let groups = "<r><GetGroupsResult><group><groupId> g1 </groupId><name>A</name></group><group><groupId>g2</groupId><name>B &amp; C</name></group></GetGroupsResult></r>";
    let refs = parse_group_refs(groups).unwrap();
    assert_eq!(
        refs,
        [
            GroupRef {
                id: "g1".into(),
                name: "A".into()
            },
            GroupRef {
                id: "g2".into(),
                name: "B & C".into()
            },
        ]
    );
    assert!(matches!(
        parse_group_refs("<r><group><name>no id</name></group></r>"),
        Err(WireError::Shape { .. })
    ));
    let deps = "<r><GetDepartmentsResult><department><departmentId>d1</departmentId><name>Root</name><code></code><parentDepartmentId></parentDepartmentId></department></GetDepartmentsResult></r>";
    let d = &parse_departments(deps).unwrap()[0];
    assert_eq!((d.code.as_deref(), d.parent_id.as_deref()), (None, None));
    let fields = "<r><GetUserProfileFieldsResult><userFieldInfo><userFieldInfoId>COUNTRY</userFieldInfoId><name>country</name><label>Country</label><type>country</type><values><field><name>Canada</name><value>124</value></field></values></userFieldInfo></GetUserProfileFieldsResult></r>";
    let f = &parse_profile_fields(fields).unwrap()[0];
    assert_eq!(
        f.values,
        [FieldValue {
            name: "Canada".into(),
            value: "124".into()
        }]
    );
    let detail = "<response><usersCount>1</usersCount><groupId>g</groupId><userIds><id>u1</id></userIds><name>N</name><isSmart>1</isSmart></response>";
    let d = parse_group_detail(detail).unwrap();
    assert_eq!(
        (d.is_smart, d.user_ids),
        (Some(true), vec!["u1".to_owned()])
    );
    assert!(matches!(
        parse_departments(FAULT),
        Err(WireError::Fault { .. })
    ));
}

fn envelope(body: &str) -> String {
    soap_envelope(SERVICE_NAMESPACE, body)
}

fn shape_why(err: WireError) -> String {
    match err {
        WireError::Shape { why, .. } => why,
        other => panic!("expected a shape error, got {other}"),
    }
}

#[test]
fn a_list_answer_without_its_result_element_is_an_error_not_an_empty_list() {
    // An empty Body, a Body holding another call's result, or no SOAP at all.
    let answers = [
        envelope(""),
        envelope("<GetDepartmentsResult/>\n"),
        "<html><body>Service unavailable</body></html>".to_owned(),
    ];
    for text in &answers {
        let err = parse_group_refs(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "response: has no <GetGroupsResult>",
            "{text}"
        );
    }
    for text in [envelope(""), envelope("<GetGroupsResult/>\n")] {
        assert_eq!(
            shape_why(parse_departments(&text).unwrap_err()),
            "has no <GetDepartmentsResult>"
        );
        assert_eq!(
            shape_why(parse_profile_fields(&text).unwrap_err()),
            "has no <GetUserProfileFieldsResult>"
        );
    }
    // The empty result the server sent is an empty list, in any letter case.
    for result in ["<GetGroupsResult/>", "<getGroupsResult></getGroupsResult>"] {
        assert!(parse_group_refs(&envelope(result)).unwrap().is_empty());
    }
    assert!(
        parse_departments(&envelope("<GetDepartmentsResult/>"))
            .unwrap()
            .is_empty()
    );
    assert!(
        parse_profile_fields(&envelope("<GetUserProfileFieldsResult/>"))
            .unwrap()
            .is_empty()
    );
    let refs = parse_group_refs(&envelope(
        "<ns1:GetGroupsResult><group><groupId>g</groupId><name></name></group></ns1:GetGroupsResult>",
    ))
    .unwrap();
    assert_eq!(refs[0].name, "", "an empty name the server sent is kept");
}

#[test]
fn list_items_without_their_required_parts_are_errors() {
    let group = envelope("<GetGroupsResult><group><groupId>g1</groupId></group></GetGroupsResult>");
    assert_eq!(
        shape_why(parse_group_refs(&group).unwrap_err()),
        "has no <name>"
    );
    let department = envelope(
        "<GetDepartmentsResult><department><departmentId>d1</departmentId><code>C</code></department></GetDepartmentsResult>",
    );
    assert_eq!(
        shape_why(parse_departments(&department).unwrap_err()),
        "has no <name>"
    );
    let field = |inner: &str| {
        envelope(&format!(
            "<GetUserProfileFieldsResult><userFieldInfo><userFieldInfoId>COUNTRY</userFieldInfoId>{inner}</userFieldInfo></GetUserProfileFieldsResult>"
        ))
    };
    assert_eq!(
        shape_why(parse_profile_fields(&field("<name>country</name>")).unwrap_err()),
        "has no <type>"
    );
    let no_value = field("<type>country</type><values><field><name>Canada</name></field></values>");
    assert_eq!(
        shape_why(parse_profile_fields(&no_value).unwrap_err()),
        "has no <value>"
    );
    // `values` is optional, and so are the display texts.
    let plain = parse_profile_fields(&field("<type>string</type>")).unwrap();
    assert_eq!((plain[0].label.as_str(), plain[0].values.len()), ("", 0));
}

#[test]
fn group_members_are_required_unless_the_count_says_none() {
    let detail =
        |inner: &str| format!("<response><groupId>g</groupId><name>N</name>{inner}</response>");
    for inner in ["<usersCount>3</usersCount>", ""] {
        let err = parse_group_detail(&detail(inner)).unwrap_err();
        assert_eq!(
            shape_why(err),
            "has no <userIds> (and no <usersCount> of 0)"
        );
    }
    for inner in [
        "<usersCount>0</usersCount>",
        "<usersCount>0</usersCount><userIds/>",
        "<userIds/>",
    ] {
        assert!(
            parse_group_detail(&detail(inner))
                .unwrap()
                .user_ids
                .is_empty(),
            "{inner}"
        );
    }
}

#[test]
fn unknown_numbers_are_kept_and_blank_attribute_ids_are_none() {
    let r = WireRule::from_fragment(
        "<rule><attributeType> 7 </attributeType><attributeId>\n </attributeId><operator>1</operator><value> v </value></rule>",
    )
    .unwrap();
    assert_eq!(r, rule(7, None, 1, " v "));
}

#[test]
fn wrong_types_and_missing_children_are_shape_errors() {
    let bad_op = "<rules><and><or><rule><attributeType>1</attributeType>\n<operator>x</operator><value>v</value></rule></or></and></rules>";
    let err = parse_groups(bad_op).unwrap_err();
    assert!(matches!(&err, WireError::Shape { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "line 2: <operator>: is not an integer from 0 to 255: \"x\""
    );
    let no_value = "<rules>\n<and><or><rule><attributeType>1</attributeType><operator>1</operator></rule></or></and></rules>";
    assert_eq!(
        parse_groups(no_value).unwrap_err().to_string(),
        "line 2: <rule>: has no <value>"
    );
    let twice = "<rule><attributeType>1</attributeType><operator>1</operator><value>a</value><value>b</value></rule>";
    assert!(matches!(
        WireRule::from_fragment(twice),
        Err(WireError::Shape { .. })
    ));
    let stray = "<rules><and><or><rule><attributeType>1</attributeType><operator>1</operator><value>a</value><negate>1</negate></rule></or></and></rules>";
    assert!(matches!(parse_groups(stray), Err(WireError::Shape { .. })));
    for empty in [
        "<rules/>",
        "<rules><and/></rules>",
        "<rules><and><or/></and></rules>",
    ] {
        assert!(
            matches!(parse_groups(empty), Err(WireError::Shape { .. })),
            "{empty}"
        );
    }
    assert!(matches!(
        parse_groups("<Something/>"),
        Err(WireError::Shape { .. })
    ));
}

#[test]
fn every_truncation_of_a_request_is_an_error_not_a_panic() {
    let text = fixed(UPDATE_REQUEST);
    let mut cut = 0;
    for (i, _) in text.char_indices() {
        // The whole document minus its last newline is still complete.
        if text[i..].trim().is_empty() {
            break;
        }
        assert!(
            parse_groups(&text[..i]).is_err(),
            "prefix of {i} bytes parsed"
        );
        cut += 1;
    }
    assert!(cut > 1000);
    let err = parse_groups(&text[..text.len() / 2]).unwrap_err();
    assert!(
        matches!(err, WireError::Unclosed { ref found, .. } if found == "the end of the input"),
        "{err:?}"
    );
    assert!(matches!(parse_groups(""), Err(WireError::Malformed { .. })));
    assert!(matches!(
        parse_groups("<rules><and"),
        Err(WireError::Malformed { .. })
    ));
}

#[test]
fn doctype_is_refused_and_never_expanded() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<request><name>&lol9;</name><rules/></request>"#;
    assert!(matches!(
        parse_groups(laughs),
        Err(WireError::DocType { line: 2 })
    ));
    let external = "<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><rules/>";
    assert!(matches!(
        parse_groups(external),
        Err(WireError::DocType { .. })
    ));
}

#[test]
fn only_predefined_entities_and_character_references_are_accepted() {
    let unknown = "<rules>\n<and><or><rule><attributeType>1</attributeType><operator>1</operator><value>&foo;</value></rule></or></and></rules>";
    match parse_groups(unknown) {
        Err(WireError::Entity { line, name }) => {
            assert_eq!((line, name.as_str()), (2, "foo"));
        }
        other => panic!("{other:?}"),
    }
    let ok = "<rule><attributeType>1</attributeType><operator>1</operator><value>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;</value></rule>";
    assert_eq!(WireRule::from_fragment(ok).unwrap().value, "<&>\"'AB");
    let nul =
        "<rule><attributeType>1</attributeType><operator>1</operator><value>&#0;</value></rule>";
    assert!(matches!(
        WireRule::from_fragment(nul),
        Err(WireError::Entity { .. })
    ));
    let dangling = "<rule><value>a & b</value></rule>";
    assert!(WireRule::from_fragment(dangling).is_err());
}

#[test]
fn nesting_and_element_count_are_bounded() {
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    assert!(matches!(
        parse_groups(&deep),
        Err(WireError::TooDeep { limit: 64, .. })
    ));
    let ok_depth = format!("{}{}", "<a>".repeat(64), "</a>".repeat(64));
    assert!(matches!(
        parse_groups(&ok_depth),
        Err(WireError::Shape { .. })
    ));
    let many = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
    assert!(matches!(
        parse_groups(&many),
        Err(WireError::TooManyElements { .. })
    ));
}

#[test]
fn a_ten_megabyte_text_node_parses() {
    let big = "x".repeat(10 * 1024 * 1024);
    let xml = format!(
        "<rules><and><or><rule><attributeType>1</attributeType><operator>1</operator><value>{big}</value></rule></or></and></rules>"
    );
    let groups = parse_groups(&xml).unwrap();
    let Rules::Nested(clauses) = &groups[0].rules else {
        panic!()
    };
    assert_eq!(clauses[0][0].value.len(), big.len());
    // And unterminated, it is an error naming the open element.
    let cut = &xml[..xml.len() - 60];
    assert!(matches!(
        parse_groups(cut),
        Err(WireError::Unclosed { ref open, .. }) if open == "value"
    ));
}

#[test]
fn mismatches_and_stray_content_are_errors() {
    assert!(matches!(
        parse_groups("<rules></and>"),
        Err(WireError::Unclosed { .. })
    ));
    assert!(matches!(
        parse_groups("<rules/></x>"),
        Err(WireError::Malformed { .. })
    ));
    assert!(matches!(
        parse_groups("<rules/><rules/>"),
        Err(WireError::Malformed { .. })
    ));
    assert!(matches!(
        parse_groups("<rules/>junk"),
        Err(WireError::Malformed { .. })
    ));
    // Prefixes must match between start and end tags even though lookups ignore them.
    assert!(matches!(
        parse_groups("<a:rules></b:rules>"),
        Err(WireError::Unclosed { .. })
    ));
}

#[test]
fn users_are_read_by_local_name_with_optional_fields() {
    let xml = r#"<?xml version="1.0"?>
<response>
  <user><userId>u1</userId><fields><login>ada</login><email> Ada@Example.com </email>
    <first_name>Ada</first_name><last_name>Lovelace</last_name></fields></user>
  <user><userId>u2</userId><fields><login>nobody</login></fields></user>
</response>"#;
    let users = parse_users(xml).unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].email.as_deref(), Some("Ada@Example.com"));
    assert_eq!(users[0].first_name.as_deref(), Some("Ada"));
    assert_eq!(
        users[1].email, None,
        "no email: counted by the engine, not an error"
    );
    assert!(parse_users("<response><user><fields/></user></response>").is_err());
    // The older GET /user answer (ispring.md §10.3) is read too.
    let older = "<users><userProfile><userId>u3</userId><status>1</status><groups><id>g</id></groups><fields><login>l</login><email>c@x.test</email></fields></userProfile></users>";
    let users = parse_users(older).unwrap();
    assert_eq!(
        (users[0].id.as_str(), users[0].email.as_deref()),
        ("u3", Some("c@x.test"))
    );
    // An empty list the server sent is empty; a document that is no user list is
    // an error, not a group without members.
    assert!(parse_users("<response/>").unwrap().is_empty());
    assert!(parse_users("<users></users>").unwrap().is_empty());
    for text in [
        "<html><body>Service unavailable</body></html>",
        "<r><user><userId>u</userId></user></r>",
    ] {
        let err = parse_users(text).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is not a user list (<response> or <users>)"),
            "{err}"
        );
    }
    let fault = "<response><code>403</code><message>Permission denied</message></response>";
    assert!(matches!(parse_users(fault), Err(WireError::Fault { .. })));
}

#[test]
fn refusals_say_what_and_where_in_plain_words() {
    let message = |text: &str| parse_groups(text).unwrap_err().to_string();
    for (text, expected) in [
        ("", "line 1: malformed XML: no root element"),
        (
            "<rules>\n<and",
            "line 2: malformed XML: the input ends inside the tag <and",
        ),
        (
            "<rules>\n<and>\n",
            "line 2: <and> is never closed (found the end of the input at line 3)",
        ),
        (
            "<a>\n<b>a & b</b></a>",
            "line 2: malformed XML: a bare & (the character itself is written &amp;)",
        ),
        (
            "<rules/>\n<rules/>",
            "line 2: malformed XML: a second root element <rules>",
        ),
        (
            "<rules/>\n</x>",
            "line 2: malformed XML: </x> closes no open element",
        ),
        (
            "<rules/>junk",
            "line 1: malformed XML: text outside the root element",
        ),
        (
            "<a>\n<b>\u{1}</b></a>",
            "line 2: malformed XML: the character U+0001, which XML does not allow",
        ),
        (
            "<a x='1'\n x='2'/>",
            "line 2: malformed XML: the attribute x appears twice on one element",
        ),
        (
            "<?xml version=\"1.0\"?>\n<!-- c -->\n<!DOCTYPE r>\n<r/>",
            "line 3: DOCTYPE refused: a document type declaration can define entities, and sgsync never expands them",
        ),
    ] {
        assert_eq!(message(text), expected, "{text:?}");
    }
}

#[test]
fn undeclared_prefixes_and_white_space_before_the_declaration_are_read() {
    // Prefixes the samples use without declaring them (§7.2): read by local name, and
    // the lines of what follows unchanged.
    let text = "<x:rules>\n<y:and z:a='1'><or><rule><attributeType>1</attributeType>\n<operator>x</operator><value>v</value></rule></or></y:and></x:rules>";
    assert_eq!(
        message_of(text),
        "line 3: <operator>: is not an integer from 0 to 255: \"x\""
    );
    let many: String = (0..=MAX_UNDECLARED_PREFIXES)
        .map(|i| format!("<p{i}:a>"))
        .chain(
            (0..=MAX_UNDECLARED_PREFIXES)
                .rev()
                .map(|i| format!("</p{i}:a>")),
        )
        .collect();
    assert!(message_of(&many).contains("never declared"), "{many}");
    let late = "\n\n<?xml version=\"1.0\"?>\n<rules>\n<x/></rules>";
    assert_eq!(message_of(late), "line 5: <x>: unexpected inside <rules>");
}

fn message_of(text: &str) -> String {
    parse_groups(text).unwrap_err().to_string()
}

#[test]
fn static_group_answers_are_read_by_their_documented_wrappers() {
    let env = |body: &str| soap_envelope(SERVICE_NAMESPACE, body);
    // `updateGroupResult/success` (§10.2), any other `…Result`, and a bare `success`.
    for body in [
        "<updateGroupResult><success>true</success></updateGroupResult>",
        "<UpdateGroupMembersResult><success>1</success></UpdateGroupMembersResult>",
        "<success>true</success>",
    ] {
        assert!(parse_success(&env(body)).unwrap(), "{body}");
    }
    assert!(parse_success(&env("<Other><x/></Other>")).is_err());
    assert_eq!(
        parse_add_group_result(&env(
            "<AddGroupResult><groupId> g-1 </groupId></AddGroupResult>"
        ))
        .unwrap(),
        "g-1"
    );
    let page = parse_list_users(&env(
        "<ListUsersResult><users><userProfile><userId>u1</userId><fields><email>a@x.test</email></fields></userProfile></users><nextPageToken>n2</nextPageToken></ListUsersResult>",
    ))
    .unwrap();
    assert_eq!(page.users[0].email.as_deref(), Some("a@x.test"));
    assert_eq!(page.next_page_token.as_deref(), Some("n2"));
    let last = parse_list_users(&env(
        "<ListUsersResult><users/><nextPageToken></nextPageToken></ListUsersResult>",
    ))
    .unwrap();
    assert_eq!((last.users.len(), last.next_page_token), (0, None));
    // No result element: an error, never "nobody has an account".
    assert!(parse_list_users(&env("<users/>")).is_err());
    // A user without its id cannot be written to a group.
    assert!(
        parse_list_users(&env(
            "<ListUsersResult><users><userProfile/></users></ListUsersResult>"
        ))
        .is_err()
    );
}
