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
