//! The §10 calls of the iSpring sandbox: static groups, their members and users found by
//! email (ispring.md §10.2, §10.3), as documented — including the quirks:
//! `updateGroupMembers` replaces every member (an empty list empties the group), the
//! per-user calls answer `User already group's member` / `User not a group's member`
//! on a repeat, and a Department Administrator sees (and removes) only the users of
//! its departments. Where the docs are silent the choice is marked [inferred].

use super::{
    Answer, SandboxGroup, SandboxUser, SoapCall, UNKNOWN_GROUP, WRONG_PARAMETERS, World, result,
};
use sgsync_ispring::wire::{self, XmlWriter};
use std::collections::HashSet;

const UNKNOWN_USER: &str = "Unknown user";
/// The lower-case `group` of the old getGroupInformation / addUserToGroup pages (§4).
const UNKNOWN_GROUP_OLD: &str = "Unknown group";
const ALREADY_MEMBER: &str = "User already group's member";
const NOT_MEMBER: &str = "User not a group's member";
/// The documented default page size of `ListUsers` (§10.3).
const DEFAULT_PAGE_SIZE: usize = 1000;

fn success(wrapper: &str) -> Answer {
    result(wire::SERVICE_NAMESPACE, |w| {
        w.open(wrapper, None).leaf("success", "true").close(wrapper);
    })
}

impl World {
    /// Whether the API user can see `user` (everyone, unless it is a Department
    /// Administrator: then its departments and what is below them, §10.3).
    pub(super) fn visible(&self, user: &SandboxUser) -> bool {
        match &self.admin_scope {
            None => true,
            Some(scope) => scope.iter().any(|d| self.within(&user.department_id, d)),
        }
    }

    fn plain_index(&self, id: &str) -> Option<usize> {
        self.groups
            .iter()
            .position(|g| g.id == id && g.rules.is_none())
    }

    /// `addGroup`: `name` required, `userIds` optional (§10.2); names may repeat.
    pub(super) fn add_group(&mut self, call: &SoapCall) -> Answer {
        let Some(name) = call.name.as_deref().filter(|n| !n.trim().is_empty()) else {
            return Answer::fault(WRONG_PARAMETERS);
        };
        let ids = call.user_ids.clone().unwrap_or_default();
        if ids.iter().any(|id| !self.users.iter().any(|u| &u.id == id)) {
            // [inferred]: the page lists Wrong parameters for invalid values.
            return Answer::fault(WRONG_PARAMETERS);
        }
        let id = super::new_id();
        self.groups.push(SandboxGroup {
            id: id.clone(),
            name: name.to_owned(),
            rules: None,
        });
        for user in self.users.iter_mut().filter(|u| ids.contains(&u.id)) {
            user.groups.push(id.clone());
        }
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("AddGroupResult", None)
                .leaf("groupId", &id)
                .close("AddGroupResult");
        })
    }

    /// `updateGroup`: `groupId` and `name` both required (§10.2).
    pub(super) fn update_group(&mut self, call: &SoapCall) -> Answer {
        let (Some(id), Some(name)) = (
            call.group_id.as_deref().filter(|i| !i.is_empty()),
            call.name.as_deref().filter(|n| !n.trim().is_empty()),
        ) else {
            return Answer::fault("Wrong Parameters");
        };
        let Some(group) = self.groups.iter_mut().find(|g| g.id == id) else {
            return Answer::fault(UNKNOWN_GROUP);
        };
        group.name = name.to_owned();
        success("updateGroupResult")
    }

    /// `updateGroupMembers`: the ids sent replace the members; an empty list removes
    /// everyone; a Department Administrator removes only members it can see (§10.2).
    /// The page lists only `Permission denied` and `Wrong Parameters`, so an unknown
    /// group or user id is `Wrong Parameters` [inferred], and nothing changes.
    pub(super) fn update_group_members(&mut self, call: &SoapCall) -> Answer {
        let (Some(id), Some(ids)) = (call.group_id.as_deref(), call.user_ids.as_ref()) else {
            return Answer::fault("Wrong Parameters");
        };
        // Sets, so a benchmark's 10 000-id replace measures sgsync, not this sandbox.
        let known: HashSet<&str> = self
            .users
            .iter()
            .filter(|u| self.visible(u))
            .map(|u| u.id.as_str())
            .collect();
        if self.plain_index(id).is_none() || ids.iter().any(|uid| !known.contains(uid.as_str())) {
            return Answer::fault("Wrong Parameters");
        }
        let sent_ids: HashSet<String> = ids.iter().cloned().collect();
        let scope: Vec<bool> = self.users.iter().map(|u| self.visible(u)).collect();
        for (user, visible) in self.users.iter_mut().zip(scope) {
            let sent = sent_ids.contains(&user.id);
            let member = user.groups.iter().any(|g| g == id);
            if sent && !member {
                user.groups.push(id.to_owned());
            } else if !sent && member && visible {
                user.groups.retain(|g| g != id);
            }
        }
        // [inferred] wrapper: PascalCase + Result (§1); the page prints only `success`.
        success("UpdateGroupMembersResult")
    }

    /// The user and group of a per-user call, or its documented fault.
    fn user_and_group(&self, call: &SoapCall) -> Result<(usize, String), Answer> {
        let (Some(uid), Some(gid)) = (call.user_id.as_deref(), call.group_id.as_deref()) else {
            return Err(Answer::fault("Wrong parameters"));
        };
        let Some(user) = self
            .users
            .iter()
            .position(|u| u.id == uid && self.visible(u))
        else {
            return Err(Answer::fault(UNKNOWN_USER));
        };
        if !self.groups.iter().any(|g| g.id == gid) {
            return Err(Answer::fault(UNKNOWN_GROUP_OLD));
        }
        // A smart group's members come from its rules: [inferred] refused as invalid.
        if self.plain_index(gid).is_none() {
            return Err(Answer::fault("Wrong parameters"));
        }
        Ok((user, gid.to_owned()))
    }

    /// `addUserToGroup` (§10.2): a member already answers `User already group's member`.
    pub(super) fn add_user_to_group(&mut self, call: &SoapCall) -> Answer {
        let (user, gid) = match self.user_and_group(call) {
            Ok(found) => found,
            Err(fault) => return fault,
        };
        let groups = &mut self.users[user].groups;
        if groups.contains(&gid) {
            return Answer::fault(ALREADY_MEMBER);
        }
        groups.push(gid);
        success("AddUserToGroupResult")
    }

    /// `removeUserFromGroup` (§10.2): a non-member answers `User not a group's member`.
    pub(super) fn remove_user_from_group(&mut self, call: &SoapCall) -> Answer {
        let (user, gid) = match self.user_and_group(call) {
            Ok(found) => found,
            Err(fault) => return fault,
        };
        let groups = &mut self.users[user].groups;
        if !groups.contains(&gid) {
            return Answer::fault(NOT_MEMBER);
        }
        groups.retain(|g| *g != gid);
        success("RemoveUserFromGroupResult")
    }

    /// `RemoveUserFromGroups` (§10.2): one user out of several groups; `SuccessResult`.
    pub(super) fn remove_user_from_groups(&mut self, call: &SoapCall) -> Answer {
        let (Some(uid), Some(gids)) = (call.user_id.as_deref(), call.group_ids.as_ref()) else {
            return Answer::fault("Wrong parameters");
        };
        let Some(user) = self
            .users
            .iter()
            .position(|u| u.id == uid && self.visible(u))
        else {
            return Answer::fault(UNKNOWN_USER);
        };
        self.users[user].groups.retain(|g| !gids.contains(g));
        success("SuccessResult")
    }

    /// `ListUsers` (§10.3): the users the caller can see, filtered by `groupId`,
    /// `departmentId`, `emails` and `logins` (all that are given), `pageSize` (default
    /// 1000) at a time, `nextPageToken` naming the next page. Emails and logins match
    /// case-insensitively ([unknown]: the docs do not say).
    pub(super) fn list_users(&self, call: &SoapCall) -> Answer {
        let page_size = match call.page_size.as_deref().map(str::parse::<usize>) {
            None => DEFAULT_PAGE_SIZE,
            Some(Ok(n)) if n > 0 => n,
            Some(_) => return Answer::fault(WRONG_PARAMETERS),
        };
        let start = match call.page_token.as_deref().filter(|t| !t.is_empty()) {
            None => 0,
            Some(t) => match t
                .strip_prefix("page-")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) => n,
                None => return Answer::fault(WRONG_PARAMETERS),
            },
        };
        if let Some(gid) = &call.group_id
            && !self.groups.iter().any(|g| &g.id == gid)
        {
            return Answer::fault(UNKNOWN_GROUP);
        }
        let group_members: Option<HashSet<String>> = call
            .group_id
            .as_deref()
            .map(|g| self.members(g).into_iter().collect());
        let lower = |v: &Option<Vec<String>>| {
            v.as_ref()
                .map(|l| l.iter().map(|e| e.to_lowercase()).collect::<HashSet<_>>())
        };
        let (emails, logins) = (lower(&call.emails), lower(&call.logins));
        let field = |u: &SandboxUser, f: &str| u.fields.get(f).map(|v| v.to_lowercase());
        let selected: Vec<&SandboxUser> = self
            .users
            .iter()
            .filter(|u| self.visible(u))
            .filter(|u| group_members.as_ref().is_none_or(|m| m.contains(&u.id)))
            .filter(|u| {
                call.department_id
                    .as_deref()
                    .is_none_or(|d| u.department_id == d)
            })
            .filter(|u| {
                emails
                    .as_ref()
                    .is_none_or(|l| field(u, "EMAIL").is_some_and(|e| l.contains(&e)))
            })
            .filter(|u| {
                logins
                    .as_ref()
                    .is_none_or(|l| field(u, "EMAIL").is_some_and(|e| l.contains(&e)))
            })
            .collect();
        let page: Vec<&&SandboxUser> = selected.iter().skip(start).take(page_size).collect();
        let next =
            (start + page.len() < selected.len()).then(|| format!("page-{}", start + page.len()));
        result(wire::SERVICE_NAMESPACE, |w| {
            w.open("ListUsersResult", None).open("users", None);
            for u in page {
                user_profile(w, u);
            }
            w.close("users");
            if let Some(next) = &next {
                w.leaf("nextPageToken", next);
            }
            w.close("ListUsersResult");
        })
    }
}

/// A `userProfile` in the getUserProfile shape (§10.3): id, department, fields, groups.
fn user_profile(w: &mut XmlWriter, u: &SandboxUser) {
    w.open("userProfile", None)
        .leaf("userId", &u.id)
        .leaf("departmentId", &u.department_id)
        .leaf("status", "1");
    w.open("fields", None);
    for (key, field) in [
        ("login", "EMAIL"),
        ("email", "EMAIL"),
        ("first_name", "FIRST_NAME"),
        ("last_name", "LAST_NAME"),
    ] {
        if let Some(v) = u.fields.get(field) {
            w.leaf(key, v);
        }
    }
    w.close("fields");
    w.open("groups", None);
    for g in &u.groups {
        w.leaf("id", g);
    }
    w.close("groups").close("userProfile");
}
