//! Static groups and their members (ispring.md §10): the group sgsync owns for an
//! audience whose rule iSpring cannot hold (`addGroup`, `updateGroup`), its members
//! written per user (`addUserToGroup`, `removeUserFromGroup`) or all at once
//! (`updateGroupMembers`, which replaces them), users found by email and a group's
//! members listed (`ListUsers`, paged by `pageToken`).
//!
//! - **Never creates a user**: registering people in the LMS is not a group sync's job
//!   (§10.3), so this target has a [`FindsContacts`] and no contact is ever made.
//! - **Repeats are success**: `User already group's member` after an add and `User not
//!   a group's member` after a remove mean the call's effect holds (§10.2) — a crash
//!   between iSpring acting and the store recording it resends the same call.
//! - **Limited view**: a Department Administrator sees only its departments' users
//!   (§10.3); a `Permission denied` on a lookup is reported as that, with what to do.
//! - **Array item names**: `<userIds><id>` is printed (§10.2); `<emails><email>` and
//!   `<logins><login>` are not ([inferred] by the same SoapUI pattern).

use super::{IspringClient, PROVIDER, Request, update_failed};
use crate::dialect;
use crate::wire::{self, GroupRef, Param, Rules, SmartGroupXml, StaticGroupPayload, User};
use async_trait::async_trait;
use sgsync_model::Directory;
use sgsync_model::members::SourcePerson;
use sgsync_provider::members::{
    FindsContacts, GroupKind, MemberSource, MemberTarget, ReplacesMembers, RowResult, TargetContact,
};
use sgsync_provider::{ErrorKind, ProviderError, RemoteGroup};
use std::collections::HashSet;

/// `ListUsers` page size: the documented default (§10.3).
pub const PAGE_SIZE: usize = 1000;
/// Emails per `ListUsers` lookup. No cap is documented; half a page, so an answer fits
/// one page even if some address belongs to two users ([unknown], §10.3).
pub const EMAILS_PER_LOOKUP: usize = 500;
/// Ids one `updateGroupMembers` carries. No cap is documented; 50 000 ids are ~2 MB of
/// XML, under common request-body limits ([inferred]).
pub const REPLACE_LIMIT: usize = 50_000;
/// Pages one listing may take before it is refused as endless (a server repeating its
/// token): 10⁷ users.
const MAX_PAGES: usize = 10_000;

/// What a per-user fault means for the row.
enum RowFault {
    /// The effect holds already.
    Done,
    /// The user id is stale.
    UnknownUser,
    Refused(String),
}

/// The faultstring of a SOAP fault error (`SOAP fault "client": <string>`), lower-cased.
fn faultstring(e: &ProviderError) -> Option<String> {
    e.message
        .strip_prefix("SOAP fault ")
        .and_then(|rest| rest.split_once("\": "))
        .map(|(_, s)| s.trim().to_ascii_lowercase())
}

/// A per-user fault (§10.2), matched case-insensitively (§4). `None`: not a per-user
/// answer (the group is unknown, or the call failed as a whole).
fn row_fault(e: &ProviderError, repeat_means_done: &str) -> Option<RowFault> {
    if e.kind.is_temporary() || e.kind == ErrorKind::Auth {
        return None;
    }
    let s = faultstring(e)?;
    Some(match s.as_str() {
        _ if s == repeat_means_done => RowFault::Done,
        "unknown user" => RowFault::UnknownUser,
        "unknown group" => return None,
        _ => RowFault::Refused(e.message.clone()),
    })
}

impl IspringClient {
    /// `addGroup` with a name and no users (§10.2); the members follow separately.
    pub(super) async fn add_static(&self, p: &StaticGroupPayload) -> Result<String, ProviderError> {
        let params = [Param::Text("name", &p.name)];
        let request = Request::Soap {
            element: "AddGroupRequest",
            params: &params,
            idempotent: false,
        };
        self.call("addGroup", request, wire::parse_add_group_result)
            .await
    }

    /// `updateGroup`: the name, the only documented field besides the id (§10.2).
    pub(super) async fn rename_static(
        &self,
        id: &str,
        p: &StaticGroupPayload,
    ) -> Result<(), ProviderError> {
        let operation = "updateGroup";
        let params = [Param::Text("groupId", id), Param::Text("name", &p.name)];
        let request = Request::Soap {
            element: "UpdateGroupRequest",
            params: &params,
            idempotent: true,
        };
        match self.call(operation, request, wire::parse_success).await? {
            true => Ok(()),
            false => Err(update_failed(operation)),
        }
    }

    /// A plain group as a lookup result: no rules to decode.
    pub(super) fn plain_group(&self, group: &GroupRef) -> RemoteGroup {
        let xml = SmartGroupXml {
            id: Some(group.id.clone()),
            name: Some(group.name.clone()),
            rules: Rules::Nested(Vec::new()),
            inferred: Vec::new(),
        };
        RemoteGroup {
            id: group.id.clone(),
            name: group.name.clone(),
            key: None,
            decoded: dialect::decode_in(&xml, &self.maps, &Directory::none()),
        }
    }

    /// Every user `ListUsers` answers for `filter` (one of `groupId` or `emails`), all
    /// pages, following `nextPageToken` (§10.3). A token answered twice is an error, not
    /// an endless loop; any failed page fails the whole listing (a partial list must
    /// never be read as the whole).
    pub async fn list_users(&self, filter: &Param<'_>) -> Result<Vec<User>, ProviderError> {
        let operation = "listUsers";
        let page_size = PAGE_SIZE.to_string();
        let mut users = Vec::new();
        let mut token: Option<String> = None;
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut params: Vec<Param<'_>> = vec![clone_param(filter)];
            params.push(Param::Text("pageSize", &page_size));
            if let Some(t) = &token {
                params.push(Param::Text("pageToken", t));
            }
            let request = Request::Soap {
                element: "ListUsersRequest",
                params: &params,
                idempotent: true,
            };
            let page = self
                .call(operation, request, wire::parse_list_users)
                .await?;
            users.extend(page.users);
            match page.next_page_token {
                None => return Ok(users),
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(ProviderError::new(
                        PROVIDER,
                        ErrorKind::Malformed,
                        operation,
                        "the server answered the same nextPageToken twice; the listing would never end",
                    ));
                }
                Some(next) => token = Some(next),
            }
        }
        Err(ProviderError::new(
            PROVIDER,
            ErrorKind::Malformed,
            operation,
            format!("more than {MAX_PAGES} pages of users; refusing to read on"),
        ))
    }

    /// One per-user call (`addUserToGroup` / `removeUserFromGroup`), as a row.
    async fn per_user(
        &self,
        element: &'static str,
        operation: &'static str,
        repeat_means_done: &str,
        group_id: &str,
        ids: &[String],
    ) -> Result<Vec<RowResult>, ProviderError> {
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let params = [Param::Text("groupId", group_id), Param::Text("userId", id)];
            let request = Request::Soap {
                element,
                params: &params,
                // Repeating it is harmless: a repeat answers the "already" fault.
                idempotent: true,
            };
            let row = match self.call(operation, request, wire::parse_success).await {
                Ok(true) => RowResult {
                    id: id.clone(),
                    ok: true,
                    unknown_contact: false,
                    error: None,
                },
                Ok(false) => return Err(update_failed(operation)),
                Err(e) => match row_fault(&e, repeat_means_done) {
                    Some(RowFault::Done) => RowResult {
                        id: id.clone(),
                        ok: true,
                        unknown_contact: false,
                        error: None,
                    },
                    Some(RowFault::UnknownUser) => RowResult {
                        id: id.clone(),
                        ok: false,
                        unknown_contact: true,
                        error: Some(e.message),
                    },
                    Some(RowFault::Refused(why)) => RowResult {
                        id: id.clone(),
                        ok: false,
                        unknown_contact: false,
                        error: Some(format!("user {id}: {why}")),
                    },
                    None => return Err(e),
                },
            };
            rows.push(row);
        }
        Ok(rows)
    }
}

/// `Param` is not `Clone` (it borrows); the filters used here are text and lists.
fn clone_param<'a>(p: &Param<'a>) -> Param<'a> {
    match p {
        Param::Text(name, text) => Param::Text(name, text),
        Param::Rules(r) => Param::Rules(r),
        Param::List(c, i, v) => Param::List(c, i, v),
    }
}

fn person(u: User) -> SourcePerson {
    let name = [u.first_name, u.last_name]
        .into_iter()
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    SourcePerson {
        id: u.id,
        email: u.email,
        name: Some(name).filter(|n| !n.is_empty()),
    }
}

/// A group's users through the documented `ListUsers` with `groupId` (§10.3), every
/// page. That it selects a SMART group's members too is [inferred] (a smart group is
/// a group, §3.4). The undocumented `GET /user?groups[]=` is not used.
#[async_trait]
impl MemberSource for IspringClient {
    async fn group_people(&self, group_id: &str) -> Result<Vec<SourcePerson>, ProviderError> {
        let users = self.list_users(&Param::Text("groupId", group_id)).await?;
        Ok(users.into_iter().map(person).collect())
    }
}

#[async_trait]
impl MemberTarget for IspringClient {
    /// One user per `addUserToGroup` / `removeUserFromGroup` call (§10.2).
    fn batch_limit(&self) -> usize {
        1
    }

    /// Listed by `getGroups`; smart when its rules can be read, plain (static) when
    /// iSpring answers that it has none (`Unknown Group` / 404, §3.4).
    async fn group_kind(&self, group_id: &str) -> Result<GroupKind, ProviderError> {
        let Some(group) = self
            .group_refs()
            .await?
            .into_iter()
            .find(|g| g.id == group_id)
        else {
            return Err(ProviderError::new(
                PROVIDER,
                ErrorKind::NotFound,
                "check group",
                format!("group {group_id} does not exist"),
            ));
        };
        match self.rules_of(group_id).await {
            Ok(_) => Ok(GroupKind::Dynamic { name: group.name }),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(GroupKind::Static),
            Err(e) => Err(e),
        }
    }

    async fn members(&self, group_id: &str) -> Result<Vec<TargetContact>, ProviderError> {
        let users = self.list_users(&Param::Text("groupId", group_id)).await?;
        Ok(users
            .into_iter()
            .filter_map(|u| u.email.map(|email| TargetContact { id: u.id, email }))
            .collect())
    }

    async fn add(&self, group_id: &str, ids: &[String]) -> Result<Vec<RowResult>, ProviderError> {
        self.per_user(
            "AddUserToGroupRequest",
            "addUserToGroup",
            "user already group's member",
            group_id,
            ids,
        )
        .await
    }

    async fn remove(
        &self,
        group_id: &str,
        ids: &[String],
    ) -> Result<Vec<RowResult>, ProviderError> {
        self.per_user(
            "RemoveUserFromGroupRequest",
            "removeUserFromGroup",
            "user not a group's member",
            group_id,
            ids,
        )
        .await
    }

    /// Never: iSpring users are not created by a group sync (§10.3).
    async fn add_by_email(
        &self,
        _group_id: &str,
        email: &str,
        _name: Option<&str>,
    ) -> Result<String, ProviderError> {
        let _ = email;
        Err(ProviderError::new(
            PROVIDER,
            ErrorKind::Unsupported,
            "addUserToGroup",
            "sgsync never creates iSpring users; people without an account are counted instead",
        ))
    }

    fn finder(&self) -> Option<&dyn FindsContacts> {
        Some(self)
    }

    fn replacer(&self) -> Option<&dyn ReplacesMembers> {
        Some(self)
    }
}

#[async_trait]
impl FindsContacts for IspringClient {
    fn lookup_limit(&self) -> usize {
        EMAILS_PER_LOOKUP
    }

    /// `ListUsers` with `emails` (§10.3), every page. A `Permission denied` here is the
    /// Department Administrator's limited view, said so.
    async fn find_by_email(&self, emails: &[String]) -> Result<Vec<TargetContact>, ProviderError> {
        let users = match self
            .list_users(&Param::List("emails", "email", emails))
            .await
        {
            Ok(users) => users,
            Err(mut e) if e.kind == ErrorKind::PermissionDenied => {
                e.message = format!(
                    "{}: the API user cannot look users up by email; a Department Administrator sees only its own departments' users (iSpring docs: ListUsers). Use an account administrator's API key, or expect people outside those departments to count as having no account",
                    e.message
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        Ok(users
            .into_iter()
            .filter_map(|u| u.email.map(|email| TargetContact { id: u.id, email }))
            .collect())
    }
}

#[async_trait]
impl ReplacesMembers for IspringClient {
    /// `updateGroupMembers` (§10.2): the ids replace every member.
    async fn replace(&self, group_id: &str, ids: &[String]) -> Result<(), ProviderError> {
        let operation = "updateGroupMembers";
        let params = [
            Param::Text("groupId", group_id),
            Param::List("userIds", "id", ids),
        ];
        let request = Request::Soap {
            element: "UpdateGroupMembersRequest",
            params: &params,
            // The same list twice is the same membership.
            idempotent: true,
        };
        match self.call(operation, request, wire::parse_success).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(update_failed(operation)),
            Err(mut e) if e.kind == ErrorKind::PermissionDenied => {
                e.message = format!(
                    "{}: the API user may not set this group's members; a Department Administrator manages only its own departments' users (iSpring docs: updateGroupMembers)",
                    e.message
                );
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    fn replace_limit(&self) -> usize {
        REPLACE_LIMIT
    }
}
