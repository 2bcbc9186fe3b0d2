//! Membership, as the engine sees a provider: a source lists the people of a group; a
//! target holds static member lists it can add to and remove from.
//!
//! Two small traits instead of more methods on [`super::Provider`]: most providers can
//! do one side only (GoSquared and iSpring Learn list people but their groups are rule
//! groups; emfluence groups are lists but hold no rule to read people from), and a
//! provider says which side it has through `Provider::member_source` /
//! `Provider::member_target` (default: neither), the way it states capabilities.

use super::ProviderError;
use async_trait::async_trait;
use sgsync_model::members::SourcePerson;

/// A provider whose groups' people can be read.
#[async_trait]
pub trait MemberSource: Send + Sync {
    /// Every person in source group `group_id` (all pages), with the fields identity
    /// needs only: id, email, name.
    async fn group_people(&self, group_id: &str) -> Result<Vec<SourcePerson>, ProviderError>;
}

/// Whether a target group's members may be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKind {
    /// A list: members are added and removed by calls.
    Static,
    /// Defined by a query on the target (emfluence `type: Dynamic`): its members are
    /// never written. `name` is the group's name, for the error.
    Dynamic { name: String },
}

/// A contact a target reports as a member of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetContact {
    /// The target's contact id.
    pub id: String,
    pub email: String,
}

/// The per-contact answer of a batch add or remove: the call may succeed while rows fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub id: String,
    pub ok: bool,
    /// The target says the contact does not exist (a stale id): worth creating again.
    pub unknown_contact: bool,
    pub error: Option<String>,
}

/// A provider with static groups whose members can be written.
#[async_trait]
pub trait MemberTarget: Send + Sync {
    /// Most contact ids one add or remove call takes.
    fn batch_limit(&self) -> usize;
    /// What kind of group `group_id` is; a missing group is `NotFound`. Only a
    /// [`GroupKind::Static`] group has its members written.
    async fn group_kind(&self, group_id: &str) -> Result<GroupKind, ProviderError>;
    /// The group's current members (all pages): read once, before the first
    /// materialisation, so existing members are neither re-added nor forgotten.
    async fn members(&self, group_id: &str) -> Result<Vec<TargetContact>, ProviderError>;
    /// Adds existing contacts (at most [`Self::batch_limit`]); safe to resend.
    async fn add(&self, group_id: &str, ids: &[String]) -> Result<Vec<RowResult>, ProviderError>;
    /// Removes contacts from the group only — never deletes or unsubscribes them (at
    /// most [`Self::batch_limit`]); safe to resend.
    async fn remove(&self, group_id: &str, ids: &[String])
    -> Result<Vec<RowResult>, ProviderError>;
    /// Finds the contact with `email`, or creates it with the email and name only, and
    /// adds it to the group; returns its id. Keyed by email, so safe to resend: a crash
    /// after the target acted and before we recorded it finds the same contact again.
    /// Never called on a target with [`Self::finder`]: such a target creates no one.
    async fn add_by_email(
        &self,
        group_id: &str,
        email: &str,
        name: Option<&str>,
    ) -> Result<String, ProviderError>;
    /// `Some` for a target whose people must already exist (an LMS: iSpring Learn): a
    /// contact is found by email and never created; people without one are counted.
    fn finder(&self) -> Option<&dyn FindsContacts> {
        None
    }
    /// `Some` for a target that can set a group's whole membership in one call.
    fn replacer(&self) -> Option<&dyn ReplacesMembers> {
        None
    }
}

/// Contacts found by email, never created.
#[async_trait]
pub trait FindsContacts: Send + Sync {
    /// Most emails one [`Self::find_by_email`] call takes.
    fn lookup_limit(&self) -> usize;
    /// The existing contacts with these emails (at most [`Self::lookup_limit`]), every
    /// page read; an email with no contact is simply absent. An error means nothing is
    /// known about any of them: the caller must not read absence from it.
    async fn find_by_email(&self, emails: &[String]) -> Result<Vec<TargetContact>, ProviderError>;
}

/// A group's whole membership set in one call.
#[async_trait]
pub trait ReplacesMembers: Send + Sync {
    /// Makes `ids` the group's members: everyone else is removed (an empty list empties
    /// it). Safe to resend with the same list; never to send with a list computed from
    /// anything but a complete, current read.
    async fn replace(&self, group_id: &str, ids: &[String]) -> Result<(), ProviderError>;
    /// Ids one replace may carry: above it the per-member calls are used.
    fn replace_limit(&self) -> usize;
}
