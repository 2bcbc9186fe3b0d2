//! Tests of `wire`.

use super::*;

// Self-authored fixtures from emfluence.md §8 (shapes documented, values invented).
const SAVE_SUCCESS: &str = r#"{"success":1,"code":0,"requestID":"req-0001","data":{"groupID":4242,"groupName":"Daemon Sync – Team A","friendlyName":"Team A","description":"Synced by daemon","status":"Active","type":"Static","protected":1,"private":1,"sendTests":0,"userID":77,"userIDs":[77],"notes":"managed by sync daemon","externalID":"team-a","autoResponseEmailID":"","totalMembers":0,"activeMembers":0,"dateAdded":"2024-05-01 12:00:00","dateModified":"","dateLastEmailSent":""}}"#;
const SEARCH_PAGE: &str = r#"{"success":1,"code":0,"data":{"paging":{"next":"2","page":1,"rpp":2,"totalPages":2,"totalRecords":3,"prev":""},"records":[{"groupID":10,"groupName":"Alpha","status":"Active","type":"Static","friendlyName":"Alpha","description":"","private":1,"userID":"","autoResponseEmailID":"","dateAdded":"2020-01-01 00:00:00","dateModified":"","dateLastEmailSent":"","totalMembers":5,"activeMembers":4},{"groupID":11,"groupName":"Beta","status":"Active","type":"Dynamic","friendlyName":"Beta","description":"","private":0,"userID":3,"autoResponseEmailID":12,"dateAdded":"2020-01-02 00:00:00","dateModified":"2021-01-01 10:00:00","dateLastEmailSent":"","totalMembers":0,"activeMembers":0}]}}"#;
const DUPLICATE: &str = r#"{"success":0,"code":400,"errors":["Group name \"Daemon Sync – Team A\" already exists."],"data":{}}"#;

#[test]
fn reads_envelopes_records_and_bare_groups() {
    let g = parse_groups(SAVE_SUCCESS).unwrap();
    assert_eq!(g[0].group_id, Some(4242));
    assert_eq!(g[0].external_id.as_deref(), Some("team-a"));
    let g = parse_groups(SEARCH_PAGE).unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(g[1].kind, Some(GroupKind::Dynamic));
    let g = parse_groups(
        r#"{"groupName":"X","description":"d","private":1,"protected":1,"externalID":"team-a"}"#,
    )
    .unwrap();
    assert_eq!(g[0].group_id, None);
}

#[test]
fn failure_envelope_is_an_error_even_at_http_200() {
    let err = parse_groups(DUPLICATE).unwrap_err();
    assert!(matches!(err, WireError::Failed { code: 400, .. }), "{err}");
    assert!(err.to_string().contains("already exists"));
}

#[test]
fn malformed_input_is_a_typed_error() {
    assert!(matches!(
        parse_groups("{\"groupName\": "),
        Err(WireError::Json(_))
    ));
    let err = parse_groups(r#"{"groupName": 5.5, "groupID": "x"}"#).unwrap_err();
    assert!(err.to_string().contains("groupID"), "{err}");
    let err = parse_groups(r#"[{"groupName": ""}]"#).unwrap_err();
    assert_eq!(err.to_string(), "$[0].groupName: is missing or empty");
}

#[test]
fn paging_continues_while_page_is_below_total_pages() {
    let data = read_envelope(SEARCH_PAGE).unwrap();
    let paging = paging_in(&data).unwrap().unwrap();
    assert_eq!(
        (paging.page, paging.total_pages, paging.next.as_str()),
        (1, 2, "2")
    );
    assert!(has_next_page(&data, 1).unwrap());
    let last = serde_json::json!({"paging": {"page": "2", "totalPages": "2", "next": "", "prev": "1"}, "records": [{}]});
    assert!(!has_next_page(&last, 2).unwrap());
    // An empty page ends the loop whatever the paging block says (§6 fallback).
    let empty = serde_json::json!({"paging": {"page": 3, "totalPages": 9}, "records": []});
    assert!(!has_next_page(&empty, 3).unwrap());
}

#[test]
fn membership_rows_are_read_under_either_documented_key() {
    for key in ["contactResults", "contactsResults"] {
        let data = serde_json::json!({ key: [
            {"contactID": "7", "success": true, "errors": []},
            {"contactID": 8, "success": 0, "errors": ["Contact not found."]},
        ]});
        let rows = contact_results_in(&data).unwrap();
        assert_eq!(
            rows[0],
            ContactResult {
                contact_id: 7,
                success: true,
                errors: vec![]
            }
        );
        assert!(!rows[1].success);
        assert_eq!(rows[1].errors, ["Contact not found."]);
    }
}

#[test]
fn requests_serialise_as_documented() {
    let lookup = serde_json::to_value(GroupLookup::Many(vec![1, 2])).unwrap();
    assert_eq!(lookup, serde_json::json!({"groupIDs": [1, 2]}));
    let archive = GroupArchive {
        group_id: 4242,
        status: "Archived",
        protected: 0,
    };
    let expected: Json =
        serde_json::from_str(r#"{"groupID":4242,"status":"Archived","protected":0}"#).unwrap();
    assert_eq!(serde_json::to_value(archive).unwrap(), expected);
    let row = ContactResult {
        contact_id: 1,
        success: true,
        errors: vec![],
    };
    assert_eq!(serde_json::to_value(row).unwrap()["success"], 1);
}

/// The JSON path a shape error names.
fn at(err: WireError) -> String {
    match err {
        WireError::Shape { at, .. } => at,
        other => panic!("expected a shape error, got {other}"),
    }
}

#[test]
fn success_without_data_is_an_error_never_an_empty_payload() {
    for text in [r#"{"success":1,"code":0}"#, r#"{"success":true}"#] {
        let err = read_envelope(text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "data: is missing, though the answer says success"
        );
        assert_eq!(at(parse_groups(text).unwrap_err()), "data");
    }
    // `data` the server sent, empty or not, is kept for its reader to judge.
    assert_eq!(
        read_envelope(r#"{"success":1,"data":{}}"#).unwrap(),
        serde_json::json!({})
    );
    assert_eq!(
        read_envelope(r#"{"success":1,"data":null}"#).unwrap(),
        Json::Null
    );
}

#[test]
fn a_search_page_without_records_or_paging_is_an_error_not_an_empty_page() {
    use serde_json::json;
    let paging =
        json!({"next": "", "page": 1, "rpp": 250, "totalPages": 1, "totalRecords": 0, "prev": ""});
    for data in [
        json!({}),
        Json::Null,
        json!({ "paging": paging }),
        json!({ "paging": paging, "records": null }),
    ] {
        assert_eq!(at(records_in(&data, "data").unwrap_err()), "data.records");
        assert_eq!(at(has_next_page(&data, 1).unwrap_err()), "data.records");
        assert_eq!(at(contacts_in(&data).unwrap_err()), "data.records");
    }
    // A page with records but no paging cannot say whether it is the last one.
    let records = json!([{"groupID": 1, "groupName": "A"}]);
    let err = has_next_page(&json!({ "records": records }), 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.paging: is missing, though the answer says success"
    );
    for total in [json!(null), json!("")] {
        let data = json!({"paging": {"page": 1, "totalPages": total}, "records": records});
        assert_eq!(
            at(has_next_page(&data, 1).unwrap_err()),
            "data.paging.totalPages"
        );
        assert_eq!(at(paging_in(&data).unwrap_err()), "data.paging.totalPages");
    }
    let data = json!({"paging": {"page": 1}, "records": records});
    assert_eq!(
        at(has_next_page(&data, 1).unwrap_err()),
        "data.paging.totalPages"
    );
    // The empty page the server sent is a valid empty page, paging or not.
    for data in [
        json!({ "paging": paging, "records": [] }),
        json!({"records": []}),
    ] {
        assert!(records_in(&data, "data").unwrap().is_empty(), "{data}");
        assert!(contacts_in(&data).unwrap().is_empty());
        assert!(!has_next_page(&data, 1).unwrap());
    }
    let envelope =
        r#"{"success":1,"code":0,"data":{"paging":{"page":1,"totalPages":0},"records":[]}}"#;
    assert!(parse_groups(envelope).unwrap().is_empty());
}

#[test]
fn membership_rows_are_required() {
    use serde_json::json;
    for data in [
        json!({"totalSuccess": 2, "totalErrors": 0}),
        json!({"contactResults": null}),
        json!({}),
    ] {
        assert_eq!(
            contact_results_in(&data).unwrap_err().to_string(),
            "data.contactResults: is missing, though the answer says success"
        );
    }
    // Rows the server sent for nothing are a valid empty answer.
    assert!(
        contact_results_in(&json!({"contactResults": []}))
            .unwrap()
            .is_empty()
    );
}

// The tests below use readers the fix added; what they pin is also shown through
// the client in tests/it/contract_emfluence.rs.

#[test]
fn calls_that_ignore_data_still_see_the_success() {
    assert_eq!(read_success(r#"{"success":1,"code":0}"#).unwrap(), None);
    let data = read_success(r#"{"success":1,"data":[]}"#).unwrap();
    assert_eq!(data, Some(serde_json::json!([])));
    assert!(matches!(
        read_success(r#"{"success":0,"code":7}"#),
        Err(WireError::Failed { code: 7, .. })
    ));
}

#[test]
fn a_page_says_its_total_only_when_it_has_records() {
    use serde_json::json;
    let data = json!({"paging": {"page": 1, "totalPages": 3}, "records": [{}]});
    let page = page_in(&data, 1).unwrap();
    assert_eq!((page.more, page.total_pages), (true, Some(3)));
    let none = json!({"records": []});
    let empty = page_in(&none, 4).unwrap();
    assert_eq!((empty.more, empty.total_pages), (false, None));
    assert_eq!(at(page_in(&json!({}), 1).unwrap_err()), "data.records");
}

#[test]
fn every_contact_sent_needs_its_row() {
    use serde_json::json;
    let one = json!({"contactResults": [{"contactID": 1, "success": 1, "errors": []}]});
    let err = contact_results_for(&one, &[1, 2, 3]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.contactResults: has no row for contactID 2, 3 (3 contact ids sent, 1 rows answered)"
    );
    assert_eq!(contact_results_for(&one, &[1]).unwrap().len(), 1);
    // A long list of ids is cut in the message.
    let sent: Vec<i64> = (1..=1000).collect();
    let err = contact_results_for(&json!({"contactResults": []}), &sent).unwrap_err();
    assert!(
        err.to_string()
            .contains("contactID 1, 2, 3, 4, 5 and 995 more"),
        "{err}"
    );
    assert!(
        contact_results_for(&json!({"contactResults": []}), &[])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_lookup_must_answer_every_group_asked_for_with_its_id() {
    use serde_json::json;
    let alpha = json!({"groupID": 10, "groupName": "Alpha", "externalID": "k"});
    let err = lookup_groups_in(&json!([alpha]), &[10, 11, 12]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data: has no group for groupID 11, 12 (3 asked for, 1 answered)"
    );
    for empty in [json!([]), json!({}), Json::Null] {
        assert_eq!(at(lookup_groups_in(&empty, &[10]).unwrap_err()), "data");
        assert!(lookup_groups_in(&empty, &[]).unwrap().is_empty());
    }
    assert_eq!(lookup_groups_in(&json!([alpha]), &[10]).unwrap().len(), 1);
    // One group: found by the id asked for; an answer naming no id, or another
    // id, is refused (an update without groupID would create).
    assert_eq!(
        lookup_one_in(&alpha, 10).unwrap().unwrap().group_id,
        Some(10)
    );
    let no_id = json!({"groupName": "Alpha", "type": "Static"});
    assert_eq!(at(lookup_one_in(&no_id, 10).unwrap_err()), "data.groupID");
    assert_eq!(
        lookup_one_in(&alpha, 11).unwrap_err().to_string(),
        "data.groupID: is 10, not the 11 asked for"
    );
    // An empty `data` is "no such group" (the unknown-id answer is unknown, §3.2).
    for empty in [json!({}), json!([]), Json::Null, json!(false), json!("")] {
        assert_eq!(lookup_one_in(&empty, 10).unwrap(), None);
    }
}

#[test]
fn an_answer_without_the_envelope_is_a_shape_error() {
    let err = read_envelope(r#"{"groupID": 1}"#).unwrap_err();
    assert!(matches!(err, WireError::Shape { .. }), "{err}");
}
