//! Static groups' members on emfluence: the [`MemberTarget`] side of the client.

use super::*;

/// Static groups' members (§3.5, §3.6): read with `contacts/search {groupID}`, written
/// with `groups/addContacts` / `groups/removeContacts` (≤ 1000 ids, per-row results),
/// and a contact unknown to us is found or created by `contacts/save {email, groupIDs}`.
/// Removing takes a contact out of the group only: no call here deletes, suppresses
/// or unsubscribes a contact.
#[async_trait]
impl MemberTarget for EmfluenceClient {
    fn batch_limit(&self) -> usize {
        MEMBERSHIP_BATCH
    }

    async fn group_kind(&self, group_id: &str) -> Result<MemberGroupKind, ProviderError> {
        let group = self.lookup(group_id).await?.ok_or_else(|| {
            ProviderError::new(
                PROVIDER,
                ErrorKind::NotFound,
                "check group",
                format!("group {group_id} does not exist"),
            )
        })?;
        Ok(match group.kind {
            Some(GroupKind::Dynamic) => MemberGroupKind::Dynamic {
                name: group.group_name,
            },
            // A record without `type` is read as static: the API creates no other kind.
            Some(GroupKind::Static) | None => MemberGroupKind::Static,
        })
    }

    async fn members(&self, group_id: &str) -> Result<Vec<TargetContact>, ProviderError> {
        Ok(self
            .group_contacts(group_id)
            .await?
            .into_iter()
            .map(|c| TargetContact {
                id: c.contact_id.to_string(),
                email: c.email,
            })
            .collect())
    }

    async fn add(&self, group_id: &str, ids: &[String]) -> Result<Vec<RowResult>, ProviderError> {
        self.membership_batch("groups/addContacts", group_id, ids)
            .await
    }

    async fn remove(
        &self,
        group_id: &str,
        ids: &[String],
    ) -> Result<Vec<RowResult>, ProviderError> {
        self.membership_batch("groups/removeContacts", group_id, ids)
            .await
    }

    /// `contacts/save {email, groupIDs}` WITHOUT a name: saving by email is an upsert
    /// that only writes the parameters passed (§3.5, §5), so an existing contact keeps
    /// its name. Only when the contact comes back without any name is the source's name
    /// written, in a second save by `contactID` — filling a blank, never overwriting.
    async fn add_by_email(
        &self,
        group_id: &str,
        email: &str,
        name: Option<&str>,
    ) -> Result<String, ProviderError> {
        let gid = parse_id(group_id)?;
        let body = ContactSave {
            email: email.to_owned(),
            first_name: None,
            last_name: None,
            group_ids: vec![gid],
        };
        let (contact, name_blank) = self
            .post("contacts/save", &body, true, |data| {
                Ok((wire::read_contact(&data, "data")?, may_name(&data)))
            })
            .await?;
        if let Some(name) = name.map(str::trim).filter(|n| !n.is_empty())
            && name_blank
        {
            let (first, last) = match name.split_once(' ') {
                Some((f, l)) => (f, l.trim()),
                None => (name, ""),
            };
            let body = ContactName {
                contact_id: contact.contact_id,
                first_name: first,
                last_name: last,
            };
            self.post_ignoring_data("contacts/save", &body, true)
                .await?;
        }
        Ok(contact.contact_id.to_string())
    }
}

/// Whether the source's name may be written to the contact `data` (a `contacts/save`
/// answer) describes: only when the answer shows both `firstName` and `lastName` blank
/// (`""` or `null`). The answer is the full contact (§3.5, §5); a name part it leaves
/// out is unknown, not blank, and writing both parts could overwrite it.
pub(super) fn may_name(data: &Json) -> bool {
    let blank = |k: &str| match data.get(k) {
        Some(Json::Null) => true,
        Some(Json::String(s)) => s.trim().is_empty(),
        _ => false,
    };
    blank("firstName") && blank("lastName")
}

/// `contacts/save` by `contactID` with the name only (§3.5: only passed parameters are
/// saved).
#[derive(Serialize)]
struct ContactName<'a> {
    #[serde(rename = "contactID")]
    contact_id: i64,
    #[serde(rename = "firstName")]
    first_name: &'a str,
    #[serde(rename = "lastName")]
    last_name: &'a str,
}

impl EmfluenceClient {
    /// One add/remove call for at most [`MEMBERSHIP_BATCH`] ids; the caller checked the
    /// group is static (once per unit, not per batch).
    async fn membership_batch(
        &self,
        path: &'static str,
        group_id: &str,
        ids: &[String],
    ) -> Result<Vec<RowResult>, ProviderError> {
        let operation = format!("POST {path}");
        if ids.len() > MEMBERSHIP_BATCH {
            return Err(ProviderError::new(
                PROVIDER,
                ErrorKind::InvalidRequest,
                operation,
                format!("{} ids in one call; at most {MEMBERSHIP_BATCH}", ids.len()),
            ));
        }
        let contact_ids = ids
            .iter()
            .map(|id| {
                id.parse::<i64>().map_err(|_| {
                    ProviderError::new(
                        PROVIDER,
                        ErrorKind::InvalidRequest,
                        operation.as_str(),
                        format!("{id:?} is not an emfluence contactID"),
                    )
                })
            })
            .collect::<Result<Vec<i64>, _>>()?;
        let body = MembershipChange {
            group_id: parse_id(group_id)?,
            contact_ids,
        };
        // Adding a member twice or removing a non-member changes nothing: safe to resend.
        let sent = body.contact_ids.as_slice();
        let rows = self
            .post(path, &body, true, |data| {
                wire::contact_results_for(&data, sent)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let text = r.errors.join("; ");
                RowResult {
                    id: r.contact_id.to_string(),
                    ok: r.success,
                    unknown_contact: !r.success && classify(0, &text) == ErrorKind::NotFound,
                    error: (!r.success).then_some(text),
                }
            })
            .collect())
    }
}
