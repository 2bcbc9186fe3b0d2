//! The answer readers: smart groups (SOAP and REST), the add and update results, the
//! reference data (groups, departments, profile fields), group members and users, and
//! SOAP faults, all on top of [`super::xml`].
//!
//! Every reader that expects a list refuses an answer without the element that holds
//! it: read as empty, a list would say "no such group" or "every member left".

use super::xml::{self, Element};
use super::{
    Department, FieldValue, GroupDetail, GroupRef, ProfileField, Rules, SmartGroupXml, User,
    UsersPage, WireError, WireRule,
};

impl WireRule {
    /// Reads a fragment written by [`WireRule::to_fragment`] (or any single `<rule>`).
    pub fn from_fragment(text: &str) -> Result<WireRule, WireError> {
        xml::read(text, |root| {
            if root.name() != "rule" {
                return Err(root.shape("expected a <rule> fragment"));
            }
            parse_rule(root)
        })
    }
}

/// Every smart group in `text`: a SOAP envelope whose Body holds `AddSmartGroupRequest`,
/// `updateSmartGroupRequest` (either case) or `GetSmartGroupRulesResult`; the REST
/// `<response><smartGroupRules>…` and `<request><name/><rules>…` bodies; a bare
/// `<AddSmartGroupRequest>` (what [`super::SmartGroupPayload::to_xml`] writes) or a bare
/// `<rules>`. Credentials are ignored. A SOAP fault anywhere is [`WireError::Fault`].
pub fn parse_groups(text: &str) -> Result<Vec<SmartGroupXml>, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        let mut groups = Vec::new();
        for candidate in body_elements(root)? {
            read_groups(candidate, &mut groups)?;
        }
        Ok(groups)
    })
}

/// The new group's id from an `AddSmartGroupResult` (ispring.md §3.2).
pub fn parse_add_result(text: &str) -> Result<String, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        let result = root
            .find(|e| e.name().eq_ignore_ascii_case("AddSmartGroupResult"))
            .ok_or_else(|| WireError::shape("response", "has no <AddSmartGroupResult>"))?;
        required_text(result, "groupId")
    })
}

/// The `success` flag of a SOAP answer: inside `updateSmartGroupResult`,
/// `updateGroupResult`, `SuccessResult` or `successResult` (the wrapper's spelling
/// varies between pages, ispring.md §1, §7.4), or any other `…Result` wrapper — the
/// pages of `updateGroupMembers`, `addUserToGroup` and `removeUserFromGroup` print only
/// `success` (§10.2), and the §1 rule names a result PascalCase + `Result` [inferred].
/// A bare `<success>` as the Body's child is read too.
pub fn parse_success(text: &str) -> Result<bool, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        let is_result = |e: &Element<'_, '_>| {
            e.name().to_ascii_lowercase().ends_with("result")
                && e.child("success").ok().flatten().is_some()
        };
        if let Some(result) = root.find(is_result) {
            return parse_bool(result.required("success")?);
        }
        match body_elements(root)?
            .into_iter()
            .find(|e| e.name() == "success")
        {
            Some(success) => parse_bool(success),
            None => Err(WireError::shape(
                "response",
                "has no <…Result> holding <success> (updateSmartGroupResult, SuccessResult, …)",
            )),
        }
    })
}

/// The new group's id from an `AddGroupResult` (ispring.md §10.2).
pub fn parse_add_group_result(text: &str) -> Result<String, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        let result = root
            .find(|e| e.name().eq_ignore_ascii_case("AddGroupResult"))
            .ok_or_else(|| WireError::shape("response", "has no <AddGroupResult>"))?;
        required_text(result, "groupId")
    })
}

/// One page of a `ListUsers` answer (ispring.md §10.3): `users` holding `userProfile`
/// items (the getUserProfile shape: `userId`, `fields/email`, …) and `nextPageToken`,
/// inside `ListUsersResult` ([`result_element`]; the §1 naming rule, [inferred] for this
/// method). The result element is required: a missing one read as "no users" would
/// mark everyone as having no account. An empty or absent `nextPageToken` ends paging.
pub fn parse_list_users(text: &str) -> Result<UsersPage, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        let result = result_element(root, "ListUsersResult")?;
        let mut items = result.find_all("userProfile");
        items.extend(result.find_all("user"));
        items.sort_by_key(Element::offset);
        let users = items
            .into_iter()
            .map(read_user)
            .collect::<Result<Vec<_>, WireError>>()?;
        let next_page_token = result
            .child("nextPageToken")?
            .and_then(|t| non_blank(t.text().trim()));
        Ok(UsersPage {
            users,
            next_page_token,
        })
    })
}

/// A `userProfile` / `user` item: `userId` required, the fields optional.
fn read_user(u: Element<'_, '_>) -> Result<User, WireError> {
    let field = |name: &str| -> Result<Option<String>, WireError> {
        let Some(fields) = u.child("fields")? else {
            return Ok(None);
        };
        Ok(fields
            .child(name)?
            .map(|e| e.text().trim().to_owned())
            .filter(|t| !t.is_empty()))
    };
    Ok(User {
        id: required_text(u, "userId")?,
        email: field("email")?,
        first_name: field("first_name")?,
        last_name: field("last_name")?,
    })
}

/// A SOAP 1.1 `Fault` (`faultcode`/`faultstring`; iSpring sends the unqualified,
/// lower-case code `client`, ispring.md §4), or a SOAP 1.2 one (`Code/Value`,
/// `Reason/Text`) should the server ever answer so.
fn check_fault(root: Element<'_, '_>) -> Result<(), WireError> {
    let Some(fault) = root.find(|e| e.name() == "Fault") else {
        return Ok(());
    };
    let text_of = |within: Element<'_, '_>, name: &str| {
        within
            .find(|e| e.name() == name)
            .map(|e| e.text().trim().to_owned())
            .unwrap_or_default()
    };
    let mut code = text_of(fault, "faultcode");
    if code.is_empty()
        && let Some(c) = fault.find(|e| e.name() == "Code")
    {
        code = text_of(c, "Value");
    }
    let mut message = text_of(fault, "faultstring");
    if message.is_empty() {
        message = text_of(fault, "Text");
    }
    Err(WireError::Fault { code, message })
}

/// The elements that may hold groups (or a request): the Body's children in an
/// envelope, else the root itself.
pub fn body_elements<'a, 'i>(root: Element<'a, 'i>) -> Result<Vec<Element<'a, 'i>>, WireError> {
    if root.name() != "Envelope" {
        return Ok(vec![root]);
    }
    let body = root.required("Body")?;
    let children: Vec<_> = body.elements().collect();
    if children.is_empty() {
        return Err(body.shape("is empty"));
    }
    Ok(children)
}

fn read_groups(e: Element<'_, '_>, out: &mut Vec<SmartGroupXml>) -> Result<(), WireError> {
    let name = e.name();
    if name.eq_ignore_ascii_case("AddSmartGroupRequest")
        || name.eq_ignore_ascii_case("UpdateSmartGroupRequest")
        || name == "request"
        || name == "smartGroupRules"
    {
        out.push(read_group(e)?);
    } else if name.eq_ignore_ascii_case("GetSmartGroupRulesResult") {
        out.push(read_flat_result(e)?);
    } else if name == "response" {
        let before = out.len();
        for child in e.elements().filter(|c| c.name() == "smartGroupRules") {
            out.push(read_group(child)?);
        }
        if out.len() == before {
            rest_error(e)?;
            return Err(e.shape("has no <smartGroupRules>"));
        }
    } else if name == "rules" {
        let (rules, inferred) = read_rules_noting(e)?;
        out.push(SmartGroupXml {
            id: None,
            name: None,
            rules,
            inferred,
        });
    } else {
        return Err(e.shape("is not a smart-group request or response this reader knows"));
    }
    Ok(())
}

/// A request or REST record: `name`, `groupId`, `rules` (credentials ignored).
fn read_group(e: Element<'_, '_>) -> Result<SmartGroupXml, WireError> {
    let (rules, inferred) = read_rules_noting(e.required("rules")?)?;
    Ok(SmartGroupXml {
        id: e.child("groupId")?.and_then(|g| non_blank(&g.text())),
        name: e.child("name")?.map(|n| n.text().into_owned()),
        rules,
        inferred,
    })
}

/// `GetSmartGroupRulesResult`: a flat list of `<rule>`, each may carry the `groupId`
/// (ispring.md §3.4).
fn read_flat_result(e: Element<'_, '_>) -> Result<SmartGroupXml, WireError> {
    if let Some(rules) = e.child("rules")? {
        let (rules, inferred) = read_rules_noting(rules)?;
        return Ok(SmartGroupXml {
            id: e.child("groupId")?.and_then(|g| non_blank(&g.text())),
            name: None,
            rules,
            inferred,
        });
    }
    let mut id = e.child("groupId")?.and_then(|g| non_blank(&g.text()));
    // An empty result is kept (`Rules::Flat(vec![])`): the element the answer must
    // hold is there, and the dialect reads "no rules" as uncertain, never as a
    // certain "everyone" (ispring/dialect.rs).
    let mut rules = Vec::new();
    for child in e.elements() {
        match child.name() {
            "rule" => {
                if id.is_none() {
                    id = child.child("groupId")?.and_then(|g| non_blank(&g.text()));
                }
                rules.push(parse_rule(child)?);
            }
            "groupId" => {}
            _ => return Err(child.unexpected_in(&e)),
        }
    }
    Ok(SmartGroupXml {
        id,
        name: None,
        rules: Rules::Flat(rules),
        inferred: Vec::new(),
    })
}

/// `<rules>` → `<and>`+ → `<or>`+ → `<rule>`. A `<rules>` holding only `<rule>`s is read
/// as the flat form; several `<rule>`s in one `<or>`, or a `<rule>` directly in an
/// `<and>`, are read as alternatives of that clause (ispring.md §3.1, [inferred]).
pub fn read_rules(rules: Element<'_, '_>) -> Result<Rules, WireError> {
    read_rules_noting(rules).map(|(rules, _)| rules)
}

/// [`read_rules`], with a note for every shape read by an inferred reading (several
/// `<rule>`s in one `<or>`, a `<rule>` directly in an `<and>`): the dialect then cannot
/// call the translation exact.
pub fn read_rules_noting(rules: Element<'_, '_>) -> Result<(Rules, Vec<String>), WireError> {
    let mut inferred = Vec::new();
    if rules.has_elements() && rules.elements().all(|c| c.name() == "rule") {
        return rules
            .elements()
            .map(parse_rule)
            .collect::<Result<_, _>>()
            .map(|r| (Rules::Flat(r), inferred));
    }
    let mut clauses = Vec::new();
    for and in rules.elements() {
        if and.name() != "and" {
            return Err(and.unexpected_in(&rules));
        }
        let mut clause = Vec::new();
        for or in and.elements() {
            match or.name() {
                "or" => {
                    let before = clause.len();
                    for rule in or.elements() {
                        if rule.name() != "rule" {
                            return Err(rule.unexpected_in(&or));
                        }
                        clause.push(parse_rule(rule)?);
                    }
                    match clause.len() - before {
                        0 => return Err(or.shape("has no <rule>")),
                        1 => {}
                        n => inferred.push(format!(
                            "an <or> holds {n} <rule>s, read as alternatives (iSpring documents one rule per <or>)"
                        )),
                    }
                }
                "rule" => {
                    inferred.push(
                        "a <rule> stands directly in an <and>, read as one more alternative (iSpring documents each rule inside an <or>)"
                            .to_owned(),
                    );
                    clause.push(parse_rule(or)?)
                }
                _ => return Err(or.unexpected_in(&and)),
            }
        }
        if clause.is_empty() {
            // An empty clause would be "no one"; iSpring requires 1..n <or> (§3.1).
            return Err(and.shape("has no <or>"));
        }
        clauses.push(clause);
    }
    if clauses.is_empty() {
        return Err(rules.shape(
            "has no <and>: iSpring requires at least one group of conditions (iSpring's smart-group documentation)",
        ));
    }
    Ok((Rules::Nested(clauses), inferred))
}

fn parse_rule(e: Element<'_, '_>) -> Result<WireRule, WireError> {
    for child in e.elements() {
        if !matches!(
            child.name(),
            "attributeType" | "attributeId" | "operator" | "value" | "groupId"
        ) {
            return Err(child.unexpected_in(&e));
        }
    }
    let integer = |name: &str| -> Result<u8, WireError> {
        let child = e.required(name)?;
        let text = child.text();
        text.trim().parse::<u8>().map_err(|_| {
            child.shape(format!(
                "is not an integer from 0 to 255: {}",
                quoted(&text)
            ))
        })
    };
    Ok(WireRule {
        attribute_type: integer("attributeType")?,
        attribute_id: e.child("attributeId")?.and_then(|a| non_blank(&a.text())),
        operator: integer("operator")?,
        value: e.required("value")?.text().into_owned(),
    })
}

fn non_blank(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_owned())
}

/// `s` in double quotes for a message, cut after 64 characters.
fn quoted(s: &str) -> String {
    match s.char_indices().nth(64) {
        None => format!("\"{s}\""),
        Some((cut, _)) => format!("\"{}…\" ({} bytes)", &s[..cut], s.len()),
    }
}

// ---------------------------------------------------------------------------------------
// Reference data, members and users

/// Every `<group>` in a `getGroups` answer, wherever its wrapper puts them inside the
/// `GetGroupsResult` (see [`result_element`]). Each needs its `<groupId>` and its
/// `<name>` element: a group read without its name would be missed by every lookup by
/// name, and the create that follows would make a second one.
pub fn parse_group_refs(text: &str) -> Result<Vec<GroupRef>, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        result_element(root, "GetGroupsResult")?
            .find_all("group")
            .into_iter()
            .map(|e| {
                Ok(GroupRef {
                    id: required_text(e, "groupId")?,
                    name: e.required("name")?.text().into_owned(),
                })
            })
            .collect()
    })
}

/// The result element of a SOAP answer, found by local name in any letter case (the
/// docs spell the same wrapper `SuccessResult` and `successResult`, ispring.md §1,
/// §7.4). Every SOAP answer's Body holds one, named after the method in PascalCase +
/// `Result` (§1 "Element naming", no `…Response` wrapper). An answer without it is an
/// error, not an empty list: read as empty, a list of groups would say "no group of
/// that name" (and a create would skip its lookup) or "every group was deleted". An
/// empty result element the server sent (`<GetGroupsResult/>`) is a valid empty list.
fn result_element<'a, 'i>(root: Element<'a, 'i>, name: &str) -> Result<Element<'a, 'i>, WireError> {
    root.find(|e| e.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| WireError::shape("response", format!("has no <{name}>")))
}

/// Reads `<response><groupId/><name/><userIds>…</userIds><isSmart/></response>`; the
/// item element inside `userIds` is not documented, so any child counts. `userIds` is
/// part of the documented `DetailedGroup` (§3.4): without it the members are unknown,
/// not none (read as none, every member would look removed). Only when `usersCount`
/// says 0 may it be left out: an empty array can vanish from XML.
pub fn parse_group_detail(text: &str) -> Result<GroupDetail, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        rest_error(root)?;
        let is_smart = root.child("isSmart")?.map(parse_bool).transpose()?;
        let user_ids = match root.child("userIds")? {
            Some(ids) => ids.elements().map(|c| c.text().trim().to_owned()).collect(),
            None if root
                .child("usersCount")?
                .is_some_and(|n| n.text().trim() == "0") =>
            {
                Vec::new()
            }
            None => return Err(root.shape("has no <userIds> (and no <usersCount> of 0)")),
        };
        Ok(GroupDetail {
            id: required_text(root, "groupId")?,
            name: root
                .child("name")?
                .map(|n| n.text().into_owned())
                .unwrap_or_default(),
            is_smart,
            user_ids,
        })
    })
}

/// The users of a REST user list: `<response>` (the REST answers' root, §3.4) holding
/// `<user>` items, or the older `GET /user` answer `<users><userProfile>…` (§10.3);
/// both item names are read under either root. Any other document is an error, not
/// an empty list: read as empty, the source group would have no members and every
/// member of its target would be removed.
pub fn parse_users(text: &str) -> Result<Vec<User>, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        rest_error(root)?;
        if root.name() != "response" && root.name() != "users" {
            return Err(root.shape("is not a user list (<response> or <users>)"));
        }
        let mut items = root.find_all("user");
        items.extend(root.find_all("userProfile"));
        items.sort_by_key(Element::offset);
        items.into_iter().map(read_user).collect()
    })
}

/// The departments of a `getDepartments` answer, inside its `GetDepartmentsResult`
/// ([`result_element`]). `departmentId` and `name` are required (rules name
/// departments by id, people by name); `code` and `parentDepartmentId` are optional
/// (the root has no parent, §5.1).
pub fn parse_departments(text: &str) -> Result<Vec<Department>, WireError> {
    xml::read(text, |root| {
        check_fault(root)?;
        result_element(root, "GetDepartmentsResult")?
            .find_all("department")
            .into_iter()
            .map(|e| {
                Ok(Department {
                    id: required_text(e, "departmentId")?,
                    name: e.required("name")?.text().into_owned(),
                    code: e.child("code")?.and_then(|c| non_blank(c.text().trim())),
                    parent_id: e
                        .child("parentDepartmentId")?
                        .and_then(|p| non_blank(p.text().trim())),
                })
            })
            .collect()
    })
}

/// The fields of a `getUserProfileFields` answer, inside its
/// `GetUserProfileFieldsResult` (§5.3, [`result_element`]). Required: the id (a rule's
/// `attributeId`), the `type` (it says whether `values` are countries) and, in each
/// `values/field`, both `name` and `value` (a country's id must not read as `""`).
/// `values` itself is optional (§5.3); `name` and `label` are display text, read as
/// `""` when absent.
pub fn parse_profile_fields(text: &str) -> Result<Vec<ProfileField>, WireError> {
    let text_of = |e: Element<'_, '_>, name: &str| -> Result<String, WireError> {
        Ok(e.child(name)?
            .map(|n| n.text().trim().to_owned())
            .unwrap_or_default())
    };
    let required_of = |e: Element<'_, '_>, name: &str| -> Result<String, WireError> {
        Ok(e.required(name)?.text().trim().to_owned())
    };
    xml::read(text, |root| {
        check_fault(root)?;
        result_element(root, "GetUserProfileFieldsResult")?
            .find_all("userFieldInfo")
            .into_iter()
            .map(|e| {
                let values = match e.child("values")? {
                    None => Vec::new(),
                    Some(v) => v
                        .find_all("field")
                        .into_iter()
                        .map(|f| {
                            Ok(FieldValue {
                                name: required_of(f, "name")?,
                                value: required_of(f, "value")?,
                            })
                        })
                        .collect::<Result<_, WireError>>()?,
                };
                Ok(ProfileField {
                    id: required_text(e, "userFieldInfoId")?,
                    name: text_of(e, "name")?,
                    label: text_of(e, "label")?,
                    field_type: required_of(e, "type")?,
                    values,
                })
            })
            .collect()
    })
}

/// A REST error body `<response><code/><message/></response>` (ispring.md §3.4).
fn rest_error(root: Element<'_, '_>) -> Result<(), WireError> {
    if root.name() == "response"
        && let (Some(code), Some(message)) = (root.child("code")?, root.child("message")?)
    {
        return Err(WireError::Fault {
            code: code.text().trim().to_owned(),
            message: message.text().trim().to_owned(),
        });
    }
    Ok(())
}

/// The text of the child `name`, trimmed, which must be there and not be blank.
fn required_text(e: Element<'_, '_>, name: &str) -> Result<String, WireError> {
    let child = e.required(name)?;
    let text = child.text();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(child.shape("is empty"));
    }
    Ok(trimmed.to_owned())
}

fn parse_bool(e: Element<'_, '_>) -> Result<bool, WireError> {
    match e.text().trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(e.shape(format!("is not true, false, 1 or 0: {}", quoted(other)))),
    }
}
