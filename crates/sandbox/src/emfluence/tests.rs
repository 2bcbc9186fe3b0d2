//! Tests of `emfluence`.

use super::*;

#[test]
fn contact_records_read_back_as_wire_contacts() {
    let mut world = World::default();
    seed_contacts(&mut world, 2);
    let c = world.contacts.values().next().cloned().unwrap();
    let read = sgsync_emfluence::wire::read_contact(&contact_object(&world, &c), "data").unwrap();
    assert_eq!(
        read,
        sgsync_emfluence::wire::Contact {
            contact_id: c.id,
            email: c.email
        }
    );
}

/// A rename by hand frees the old name and takes the new one, as uniqueness is checked
/// on save (the index once kept the old name taken after an edit).
#[tokio::test]
async fn a_rename_by_hand_moves_the_name_it_holds() {
    let sandbox = Sandbox::start(Seed::Empty).await.unwrap();
    let id = sandbox.add_group("Old name", "", GroupKind::Static);
    sandbox.edit_group(id, "New name", "Active");
    let world = sandbox.state.lock();
    assert!(!world.name_taken("Old name", None), "the old name is free");
    assert!(world.name_taken("new NAME", None), "the new one is taken");
    assert!(
        !world.name_taken("New name", Some(id)),
        "but not from itself"
    );
}
