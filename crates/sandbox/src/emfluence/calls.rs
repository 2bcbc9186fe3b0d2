//! The calls the sandbox answers: groups, membership, contacts.

use super::params::*;
use super::*;

// ---- groups ----

pub(super) fn kind_name(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Static => "Static",
        GroupKind::Dynamic => "Dynamic",
    }
}

/// The full group object (§4), loosely typed like the real data.
pub(super) fn full_group(g: &SandboxGroup) -> Json {
    let members = g.members.len();
    json!({
        "groupID": g.id,
        "groupName": g.name,
        "friendlyName": g.friendly_name,
        "description": g.description,
        "status": g.status,
        "type": kind_name(g.kind),
        "protected": u8::from(g.protected),
        "private": u8::from(g.private),
        "sendTests": 0,
        "userID": "",
        "userIDs": [],
        "notes": g.notes,
        "externalID": g.external_id,
        "autoResponseEmailID": "",
        "totalMembers": members,
        "activeMembers": members,
        "dateAdded": g.date_added,
        "dateModified": g.date_modified,
        "dateLastEmailSent": "",
    })
}

/// A search record: not a complete group (§3.3); choice: without `externalID`,
/// `protected`, `notes`, `userIDs`, `sendTests` (the inferred omission).
pub(super) fn search_record(g: &SandboxGroup) -> Json {
    let mut record = full_group(g);
    if let Json::Object(o) = &mut record {
        for key in ["externalID", "protected", "notes", "userIDs", "sendTests"] {
            o.remove(key);
        }
    }
    record
}

pub(super) fn groups_save(world: &mut World, p: &Map<String, Json>) -> Outcome {
    if text(p, "type")?.is_some_and(|t| t.eq_ignore_ascii_case("dynamic")) {
        return Err(fail(
            BAD_REQUEST,
            "Dynamic groups cannot be created through the API.",
        ));
    }
    if text(p, "status")?.is_some_and(|s| s != "Active" && s != "Archived") {
        return Err(fail(
            BAD_REQUEST,
            "status must be one of: Active, Archived.",
        ));
    }
    // Choice (§3.1 unknown): groupID 0 or "" means "none", as the console defaults hint.
    let given = int(p, "groupID")?.filter(|id| *id != 0);
    let name = text(p, "groupName")?;
    if given.is_none() && name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(fail(
            BAD_REQUEST,
            "groupName is required to create a group.",
        ));
    }
    if let Some(name) = &name {
        if name.trim().is_empty() {
            return Err(fail(BAD_REQUEST, "groupName cannot be empty."));
        }
        if world.name_taken(name, given) {
            return Err(fail(
                BAD_REQUEST,
                format!("Group name \"{name}\" already exists."),
            ));
        }
    }
    // Every check passes before anything is stored: a refused create leaves no group.
    let mut group = match given {
        Some(id) => world
            .groups
            .get(&id)
            .cloned()
            .ok_or_else(|| fail(NOT_FOUND, format!("Group {id} not found.")))?,
        None => blank_group(world.next_group + 1, name.as_deref().unwrap_or_default()),
    };
    let created = given.is_none();
    // Choice (§3.1 unknown): a partial update — only the parameters passed change.
    // The client never relies on it: it sends the full group.
    if let Some(name) = name {
        if group.friendly_name == group.name && !p.contains_key("friendlyName") {
            group.friendly_name.clone_from(&name);
        }
        group.name = name;
    }
    let set = |field: &mut String, key: &str| -> Result<(), Failure> {
        if let Some(v) = text(p, key)? {
            *field = v;
        }
        Ok(())
    };
    set(&mut group.friendly_name, "friendlyName")?;
    set(&mut group.description, "description")?;
    set(&mut group.status, "status")?;
    set(&mut group.notes, "notes")?;
    set(&mut group.external_id, "externalID")?;
    if let Some(v) = flag(p, "private")? {
        group.private = v;
    }
    if let Some(v) = flag(p, "protected")? {
        group.protected = v;
    }
    // "Protected groups cannot be archived" (§3.4); unprotecting in the same call is
    // allowed (inferred).
    if group.protected
        && group.status == "Archived"
        && world
            .groups
            .get(&group.id)
            .is_none_or(|g| g.status != "Archived")
    {
        return Err(fail(BAD_REQUEST, "Protected groups cannot be archived."));
    }
    if created {
        world.next_group = group.id;
    } else {
        group.date_modified = now();
    }
    let answer = full_group(&group);
    world.put_group(group);
    Ok(answer)
}

pub(super) fn groups_lookup(world: &World, p: &Map<String, Json>) -> Outcome {
    if let Some(ids) = ints(p, "groupIDs")? {
        if ids.len() > 25 {
            return Err(fail(BAD_REQUEST, "groupIDs accepts at most 25 ids."));
        }
        // Choice (§3.2 unknown): unknown ids are left out of the array.
        let found = ids
            .iter()
            .filter_map(|id| world.groups.get(id))
            .map(full_group);
        return Ok(Json::Array(found.collect()));
    }
    let id =
        int(p, "groupID")?.ok_or_else(|| fail(BAD_REQUEST, "groupID or groupIDs is required."))?;
    // Choice (§3.2 unknown): an unknown id is success 0, "not found".
    world
        .groups
        .get(&id)
        .map(full_group)
        .ok_or_else(|| fail(NOT_FOUND, format!("Group {id} not found.")))
}

pub(super) fn groups_search(world: &World, p: &Map<String, Json>) -> Outcome {
    let (page, rpp) = page_and_rpp(p)?;
    let name = text(p, "groupName")?.unwrap_or_default().to_lowercase();
    let status = text(p, "status")?.unwrap_or_else(|| "Active".to_owned());
    let kind = text(p, "type")?.unwrap_or_else(|| "All".to_owned());
    let ids = ints(p, "groupIDs")?.filter(|ids| !ids.is_empty());
    if !["Active", "Archived", "All"].contains(&status.as_str()) {
        return Err(fail(
            BAD_REQUEST,
            "status must be one of: Active, Archived, All.",
        ));
    }
    if !["Static", "Dynamic", "All"].contains(&kind.as_str()) {
        return Err(fail(
            BAD_REQUEST,
            "type must be one of: Static, Dynamic, All.",
        ));
    }
    let mut found: Vec<&SandboxGroup> = world
        .groups
        .values()
        .filter(|g| name.is_empty() || g.name.to_lowercase().contains(&name))
        .filter(|g| status == "All" || g.status == status)
        .filter(|g| kind == "All" || kind_name(g.kind) == kind)
        .filter(|g| ids.as_ref().is_none_or(|ids| ids.contains(&g.id)))
        .collect();
    sort_groups(&mut found, p)?;
    Ok(paged(found, page, rpp, search_record))
}

pub(super) fn sort_groups(
    found: &mut [&SandboxGroup],
    p: &Map<String, Json>,
) -> Result<(), Failure> {
    let field = text(p, "sortField")?.unwrap_or_else(|| "groupName".to_owned());
    match field.as_str() {
        "groupID" => found.sort_by_key(|g| g.id),
        // Each name folded once, not twice per comparison.
        "groupName" => found.sort_by_cached_key(|g| (g.name.to_lowercase(), g.id)),
        "dateAdded" => found.sort_by_key(|g| (&g.date_added, g.id)),
        "dateModified" => found.sort_by_key(|g| (&g.date_modified, g.id)),
        "totalMembers" | "activeMembers" => found.sort_by_key(|g| (g.members.len(), g.id)),
        "dateLastEmailSent" => found.sort_by_key(|g| g.id),
        other => {
            return Err(fail(
                BAD_REQUEST,
                format!("sortField {other:?} is not allowed."),
            ));
        }
    }
    match text(p, "sortDirection")?.as_deref() {
        None | Some("asc") => Ok(()),
        Some("desc") => {
            found.reverse();
            Ok(())
        }
        Some(other) => Err(fail(
            BAD_REQUEST,
            format!("sortDirection {other:?} is not asc or desc."),
        )),
    }
}

// ---- membership ----

pub(super) fn membership(world: &mut World, p: &Map<String, Json>, add: bool) -> Outcome {
    let id = int(p, "groupID")?.ok_or_else(|| fail(BAD_REQUEST, "groupID is required."))?;
    let ids = ints(p, "contactIDs")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(fail(BAD_REQUEST, "contactIDs is required."));
    }
    if ids.len() > 1000 {
        return Err(fail(BAD_REQUEST, "contactIDs accepts at most 1000 ids."));
    }
    let World {
        groups, contacts, ..
    } = world;
    let group = groups
        .get_mut(&id)
        .ok_or_else(|| fail(NOT_FOUND, format!("Group {id} not found.")))?;
    if group.kind == GroupKind::Dynamic {
        return Err(fail(
            BAD_REQUEST,
            "Contacts cannot be added to or removed from a dynamic group.",
        ));
    }
    let rows: Vec<ContactResult> = ids
        .iter()
        .map(|contact| {
            if !contacts.contains_key(contact) {
                return ContactResult {
                    contact_id: *contact,
                    success: false,
                    errors: vec!["Contact not found.".to_owned()],
                };
            }
            if add {
                group.members.insert(*contact);
            } else {
                group.members.remove(contact);
            }
            ContactResult {
                contact_id: *contact,
                success: true,
                errors: Vec::new(),
            }
        })
        .collect();
    let ok = rows.iter().filter(|r| r.success).count();
    Ok(json!({"totalSuccess": ok, "totalErrors": rows.len() - ok, "contactResults": rows}))
}

// ---- contacts ----

pub(super) fn contact_object(world: &World, c: &SandboxContact) -> Json {
    let groups: Vec<i64> = world
        .groups
        .values()
        .filter(|g| g.members.contains(&c.id))
        .map(|g| g.id)
        .collect();
    json!({
        "contactID": c.id,
        "email": c.email,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "userID": "",
        "held": false,
        "suppressed": 0,
        "groupIDs": groups,
        "dateAdded": c.date_added,
        "dateModified": "",
    })
}

/// By `contactID` or `email` (§3.5, §5): only passed parameters are saved; a new email
/// creates the contact; an email owned by another record is code 301 (§2).
pub(super) fn contacts_save(world: &mut World, p: &Map<String, Json>) -> Outcome {
    let email = text(p, "email")?
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    let owner = |world: &World, email: &str| {
        world
            .contacts
            .values()
            .find(|c| c.email.eq_ignore_ascii_case(email))
            .map(|c| c.id)
    };
    let id = match (int(p, "contactID")?.filter(|id| *id != 0), &email) {
        (Some(id), _) if !world.contacts.contains_key(&id) => {
            return Err(fail(NOT_FOUND, format!("Contact {id} not found.")));
        }
        (Some(id), Some(email)) => {
            if owner(world, email).is_some_and(|o| o != id) {
                return Err(fail(
                    EMAIL_TAKEN,
                    format!("Email \"{email}\" belongs to another record."),
                ));
            }
            id
        }
        (Some(id), None) => id,
        (None, Some(email)) => match owner(world, email) {
            Some(id) => id,
            None => world.new_contact(email, "", ""),
        },
        (None, None) => return Err(fail(BAD_REQUEST, "contactID or email is required.")),
    };
    let add = ints(p, "groupIDs")?.unwrap_or_default();
    let remove = ints(p, "removeGroupIDs")?.unwrap_or_default();
    for gid in add.iter().chain(&remove) {
        match world.groups.get(gid) {
            None => return Err(fail(NOT_FOUND, format!("Group {gid} not found."))),
            Some(g) if g.kind == GroupKind::Dynamic => {
                return Err(fail(
                    BAD_REQUEST,
                    format!("Group {gid} is dynamic; its contacts cannot be changed."),
                ));
            }
            Some(_) => {}
        }
    }
    let (first, last) = (text(p, "firstName")?, text(p, "lastName")?);
    if let Some(c) = world.contacts.get_mut(&id) {
        if let Some(email) = email {
            c.email = email;
        }
        if let Some(first) = first {
            c.first_name = first;
        }
        if let Some(last) = last {
            c.last_name = last;
        }
    }
    for gid in &add {
        if let Some(g) = world.groups.get_mut(gid) {
            g.members.insert(id);
        }
    }
    for gid in &remove {
        if let Some(g) = world.groups.get_mut(gid) {
            g.members.remove(&id);
        }
    }
    let contact = world
        .contacts
        .get(&id)
        .ok_or_else(|| fail(NOT_FOUND, "Contact vanished."))?;
    Ok(contact_object(world, contact))
}

pub(super) fn contacts_search(world: &World, p: &Map<String, Json>) -> Outcome {
    let (page, rpp) = page_and_rpp(p)?;
    let fields: Option<Vec<String>> = text(p, "fields")?
        .filter(|f| !f.trim().is_empty())
        .map(|f| f.split(',').map(|x| x.trim().to_owned()).collect());
    // Only the asked page is built: a 100 000-member group is read in 400 pages.
    let (skip, take) = (((page - 1) * rpp) as usize, rpp as usize);
    let (total, contacts): (usize, Vec<&SandboxContact>) = match int(p, "groupID")? {
        Some(gid) => {
            let group = world
                .groups
                .get(&gid)
                .ok_or_else(|| fail(NOT_FOUND, format!("Group {gid} not found.")))?;
            let members = group
                .members
                .iter()
                .skip(skip)
                .take(take)
                .filter_map(|id| world.contacts.get(id))
                .collect();
            (group.members.len(), members)
        }
        None => (
            world.contacts.len(),
            world.contacts.values().skip(skip).take(take).collect(),
        ),
    };
    let records = contacts
        .into_iter()
        .map(|c| {
            let mut record = contact_object(world, c);
            if let (Some(fields), Json::Object(o)) = (&fields, &mut record) {
                o.retain(|k, _| k == "contactID" || fields.contains(k));
            }
            record
        })
        .collect();
    Ok(page_of(records, total as i64, page, rpp))
}
