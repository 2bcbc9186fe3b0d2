//! The server's side of iSpring's SOAP, which the provider crate never needs: reading a
//! request envelope ([`parse_soap_call`]) and writing what only an answer holds (the
//! documented fault, a flat `getSmartGroupRules` rule). Built from the provider crate's
//! XML reader and writer, so the sandbox reads and writes XML exactly as the client does.

use sgsync_ispring::wire::xml::{self, Element};
use sgsync_ispring::wire::{
    Rules, SERVICE_NAMESPACE, WireError, WireRule, XmlWriter, body_elements, read_rules,
    soap_envelope,
};

/// The `<credentials>` of a request as the sandbox reads them. Debug never shows the
/// password or token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CredentialsXml {
    pub account_url: Option<String>,
    pub email: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
}

impl std::fmt::Debug for CredentialsXml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("CredentialsXml")
            .field("account_url", &self.account_url)
            .field("email", &self.email)
            .field("password", &hidden(&self.password))
            .field("token", &hidden(&self.token))
            .finish()
    }
}

/// One SOAP request as a server reads it: the Body's first element by local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapCall {
    /// Local name of the request element, e.g. `AddSmartGroupRequest`.
    pub method: String,
    /// `None` when the request has no `<credentials>`.
    pub credentials: Option<CredentialsXml>,
    /// Whether `<credentials>` is the request element's first child (§1 "Child order").
    pub credentials_first: bool,
    pub group_id: Option<String>,
    pub name: Option<String>,
    pub rules: Option<Rules>,
    /// `userId` (`addUserToGroup`, `removeUserFromGroup`, `RemoveUserFromGroups`).
    pub user_id: Option<String>,
    /// Arrays, `None` when the element is absent (§10.2, §10.3): `userIds`, `groupIds`,
    /// `emails`, `logins`; any item element name is read.
    pub user_ids: Option<Vec<String>>,
    pub group_ids: Option<Vec<String>>,
    pub emails: Option<Vec<String>>,
    pub logins: Option<Vec<String>>,
    /// `ListUsers` paging and filter (§10.3).
    pub department_id: Option<String>,
    pub page_size: Option<String>,
    pub page_token: Option<String>,
}

/// Reads a SOAP request envelope (any prefix, any namespace URI; ispring.md §1, §7).
pub fn parse_soap_call(text: &str) -> Result<SoapCall, WireError> {
    xml::read(text, |root| {
        if root.name() != "Envelope" {
            return Err(root.shape("is not a SOAP Envelope"));
        }
        let Some(call) = body_elements(root)?.into_iter().next() else {
            return Err(WireError::Shape {
                at: "Body".to_owned(),
                why: "is empty".to_owned(),
            });
        };
        read_call(call)
    })
}

fn read_call(call: Element<'_, '_>) -> Result<SoapCall, WireError> {
    let credentials = match call.child("credentials")? {
        None => None,
        Some(c) => {
            let text_of = |name: &str| -> Result<Option<String>, WireError> {
                Ok(c.child(name)?.map(|e| e.text().trim().to_owned()))
            };
            Some(CredentialsXml {
                account_url: text_of("accountUrl")?,
                email: text_of("email")?,
                password: text_of("password")?,
                token: text_of("token")?,
            })
        }
    };
    Ok(SoapCall {
        method: call.name().to_owned(),
        credentials_first: call
            .elements()
            .next()
            .is_some_and(|c| c.name() == "credentials"),
        credentials,
        group_id: text(call, "groupId")?,
        name: call.child("name")?.map(|n| n.text().into_owned()),
        rules: call.child("rules")?.map(read_rules).transpose()?,
        user_id: text(call, "userId")?,
        user_ids: list(call, "userIds")?,
        group_ids: list(call, "groupIds")?,
        emails: list(call, "emails")?,
        logins: list(call, "logins")?,
        department_id: text(call, "departmentId")?,
        page_size: text(call, "pageSize")?,
        page_token: text(call, "pageToken")?,
    })
}

fn text(call: Element<'_, '_>, name: &str) -> Result<Option<String>, WireError> {
    Ok(call.child(name)?.map(|e| e.text().trim().to_owned()))
}

/// `<name><item>…</item>…</name>`, each item's text trimmed; empty items dropped.
fn list(call: Element<'_, '_>, name: &str) -> Result<Option<Vec<String>>, WireError> {
    Ok(call.child(name)?.map(|e| {
        e.elements()
            .map(|i| i.text().trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    }))
}

/// The `SOAPAction` a request element must come with: its method in camelCase, quoted
/// (`UpdateGroupRequest` → `"updateGroup"`, ispring.md §10.1).
pub fn action_for(element: &str) -> String {
    let method = element.strip_suffix("Request").unwrap_or(element);
    let mut chars = method.chars();
    match chars.next() {
        Some(first) => format!("\"{}{}\"", first.to_lowercase(), chars.as_str()),
        None => "\"\"".to_owned(),
    }
}

/// The documented fault shape: unqualified lower-case `faultcode`, no `detail`
/// (ispring.md §4).
pub fn soap_fault(code: &str, message: &str) -> String {
    let mut w = XmlWriter::new();
    w.open("SOAP-ENV:Fault", None)
        .leaf("faultcode", code)
        .leaf("faultstring", message)
        .close("SOAP-ENV:Fault");
    soap_envelope(SERVICE_NAMESPACE, &w.finish())
}

/// A flat `<rule>` with its `groupId`, as `getSmartGroupRules` answers (§3.4).
pub(super) fn flat_rule(w: &mut XmlWriter, group_id: &str, rule: &WireRule) {
    w.open("rule", None)
        .leaf("groupId", group_id)
        .rule_children(rule)
        .close("rule");
}

#[cfg(test)]
mod tests {
    use super::*;
    use sgsync_ispring::wire::{Param, SoapCredentials, soap_request};

    fn rule(t: u8, id: Option<&str>, op: u8, value: &str) -> WireRule {
        WireRule {
            attribute_type: t,
            attribute_id: id.map(str::to_owned),
            operator: op,
            value: value.to_owned(),
        }
    }

    #[test]
    fn soap_requests_escape_user_text_and_put_credentials_first() {
        let evil = "x</name><credentials><token>stolen</token></credentials><name>";
        let rules = vec![vec![rule(3, Some("JOB_TITLE"), 1, "a & <b>")]];
        let xml = soap_request(
            "AddSmartGroupRequest",
            &SoapCredentials::Login {
                account_url: "https://a.test",
                email: "e@x.test",
                password: "p<&>\"",
            },
            &[Param::Text("name", evil), Param::Rules(&rules)],
        );
        let call = parse_soap_call(&xml).unwrap();
        assert_eq!(call.method, "AddSmartGroupRequest");
        assert!(call.credentials_first);
        let credentials = call.credentials.clone().unwrap();
        assert_eq!(credentials.password.as_deref(), Some("p<&>\""));
        assert_eq!(credentials.token, None);
        assert!(!format!("{credentials:?}").contains("p<&>"));
        assert_eq!(call.name.as_deref(), Some(evil));
        assert_eq!(call.rules, Some(Rules::Nested(rules)));
    }

    #[test]
    fn soap_calls_are_read_by_local_name_with_any_prefix_or_namespace() {
        let soapui = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:soap="https://ispringlearn.com/go/services/api/soap">
   <soapenv:Header/>
   <soapenv:Body>
      <soap:getGroupsRequest>
         <soap:credentials><soap:token>t</soap:token></soap:credentials>
      </soap:getGroupsRequest>
   </soapenv:Body>
</soapenv:Envelope>"#;
        // A SOAP Header before the Body is skipped: only the Body's children count.
        let call = parse_soap_call(soapui).unwrap();
        assert_eq!(call.method, "getGroupsRequest");
        assert_eq!(call.credentials.unwrap().token.as_deref(), Some("t"));
        assert!(matches!(
            parse_soap_call("<rules/>"),
            Err(WireError::Shape { .. })
        ));
    }

    #[test]
    fn the_fault_is_the_documented_shape() {
        let fault = soap_fault("client", "Wrong <parameters>");
        assert!(fault.contains(
            "<SOAP-ENV:Fault>\n  <faultcode>client</faultcode>\n  <faultstring>Wrong &lt;parameters&gt;</faultstring>\n</SOAP-ENV:Fault>\n"
        ));
        assert!(matches!(
            sgsync_ispring::wire::parse_success(&fault),
            Err(WireError::Fault { code, message }) if code == "client" && message == "Wrong <parameters>"
        ));
    }
}
