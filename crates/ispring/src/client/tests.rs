//! The client's tests that need no server: fault kinds, reply interpretation, config
//! and URL checks (the sandbox contract tests are in `tests/it/contract_ispring.rs`).

use super::*;
use sgsync_provider::http::Reply;

#[test]
fn documented_faults_map_to_kinds_whatever_their_case() {
    for (message, kind) in [
        ("Authorization failed", ErrorKind::Auth),
        (
            "Account subscription expired",
            ErrorKind::SubscriptionExpired,
        ),
        ("Permission Denied", ErrorKind::PermissionDenied),
        ("Unknown Group", ErrorKind::NotFound),
        ("Unknown group", ErrorKind::NotFound),
        ("Wrong Parameters", ErrorKind::InvalidRequest),
        ("URL is busy", ErrorKind::InvalidRequest),
    ] {
        assert_eq!(fault_kind("client", message), kind, "{message}");
    }
    assert_eq!(fault_kind("SOAP-ENV:Server", "boom"), ErrorKind::Server);
    assert_eq!(fault_kind("server", "boom"), ErrorKind::Server);
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status: reqwest::StatusCode::from_u16(status).unwrap(),
        headers: Default::default(),
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn a_fault_is_read_whatever_the_status_and_a_bare_status_by_its_code() {
    // The documented fault shape (ispring.md §4), as the sandbox writes it.
    let fault = wire::soap_envelope(
        wire::SERVICE_NAMESPACE,
        "<SOAP-ENV:Fault>\n  <faultcode>client</faultcode>\n  <faultstring>Permission denied</faultstring>\n</SOAP-ENV:Fault>\n",
    );
    for status in [200, 500] {
        let err = interpret(reply(status, &fault), "op", false, wire::parse_success).unwrap_err();
        assert_eq!(err.kind, ErrorKind::PermissionDenied, "HTTP {status}");
    }
    let err = interpret(reply(503, ""), "op", false, wire::parse_success).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Server);
    let err = interpret(reply(200, "<html/>"), "op", false, wire::parse_success).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Malformed);
    // Past the XML reader's caps: too large, not worth a retry (it would read the same).
    let many = format!("<rules>{}</rules>", "<a/>".repeat(wire::xml::MAX_ELEMENTS));
    let err = interpret(reply(200, &many), "op", false, wire::parse_groups).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BodyTooLarge, "{err}");
    assert!(!err.is_temporary());
    assert!(err.message.contains("more than"), "{err}");
    // REST errors go by status, keeping the message.
    let rest = "<response><code>404</code><message>Group not found</message></response>";
    let err = interpret(reply(404, rest), "op", true, wire::parse_groups).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("Group not found"), "{err}");
}

#[test]
fn config_deserialises_both_credential_forms_and_refuses_unknown_keys() {
    let token: IspringConfig = toml::from_str(
        r#"soap_url = "https://x.test/soap"
           [credentials]
           kind = "token"
           client_id = "id"
           client_secret = "s""#,
    )
    .unwrap();
    assert!(matches!(
        &token.credentials,
        IspringCredentials::Token { token_url, .. } if token_url == &default_token_url()
    ));
    assert_eq!(token.soap_url, "https://x.test/soap");
    // Without soap_url: the documented path on the REST host (ispring.md §10.1).
    let defaulted: IspringConfig = toml::from_str(
        r#"[credentials]
           kind = "token"
           client_id = "id"
           client_secret = "s""#,
    )
    .unwrap();
    assert_eq!(
        defaulted.soap_url,
        "https://api-learn.ispringlearn.com/api/v2/soap/2.0"
    );
    let login: IspringConfig = toml::from_str(
        r#"soap_url = "https://x.test/soap"
           [credentials]
           kind = "login"
           account_url = "https://a.ispringlearn.com"
           email = "e@x.test"
           password = "p""#,
    )
    .unwrap();
    assert!(matches!(
        login.credentials,
        IspringCredentials::Login { .. }
    ));
    assert!(
        toml::from_str::<IspringConfig>(
            r#"soap_url = "https://x.test/soap"
               extra = 1
               [credentials]
               kind = "login"
               account_url = "https://a.test"
               email = "e"
               password = "p""#
        )
        .is_err()
    );
    assert!(
        toml::from_str::<IspringConfig>(
            r#"soap_url = "https://x.test/soap"
               [credentials]
               kind = "login"
               account_url = "https://a.test"
               email = "e"
               password = "p"
               token = "t""#
        )
        .is_err()
    );
}

#[test]
fn soap_action_is_the_method_quoted_and_plain_http_is_refused_off_loopback() {
    // Unset: each request element's method in camelCase, quoted (ispring.md §10.1).
    assert_eq!(action_of(None, "UpdateGroupRequest"), "\"updateGroup\"");
    assert_eq!(action_of(None, "ListUsersRequest"), "\"listUsers\"");
    assert_eq!(
        action_of(None, "UpdateGroupMembersRequest"),
        "\"updateGroupMembers\""
    );
    let fixed = soap_action("urn:x").unwrap();
    assert_eq!(fixed, "\"urn:x\"");
    assert_eq!(action_of(Some(&fixed), "AddGroupRequest"), "\"urn:x\"");
    assert_eq!(soap_action("\"urn:x\"").unwrap(), "\"urn:x\"");
    let config = IspringConfig {
        soap_url: "http://ispring.example/soap".to_owned(),
        soap_action: None,
        rest_url: None,
        credentials: IspringCredentials::Login {
            account_url: "https://a.test".to_owned(),
            email: "e".to_owned(),
            password: SecretString::from("p"),
        },
    };
    let err = IspringClient::new(config, crate::http_defaults(), Arc::default())
        .err()
        .unwrap();
    assert_eq!(
        (err.kind, err.operation.as_str()),
        (ErrorKind::Config, "soap_url")
    );
}
