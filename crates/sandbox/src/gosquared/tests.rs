//! Tests of `gosquared`.

use super::*;

#[test]
fn slugs_follow_the_real_ids() {
    assert_eq!(slug("Last Seen > 35 Days"), "last-seen-35-days");
    assert_eq!(slug("Engaged > 1 Hour"), "engaged-1-hour");
    assert_eq!(
        slug("  Social Media -- Influencers!"),
        "social-media-influencers"
    );
    assert_eq!(slug("¡¡!!"), "group");
    let taken = ["recently-created", "recently-created-1"];
    assert_eq!(
        unique_id("recently-created", |c| taken.contains(&c)),
        "recently-created-2"
    );
}

#[test]
fn limits_are_offset_then_count_up_to_250() {
    assert_eq!(parse_limit(None), Ok((0, 10)));
    assert_eq!(parse_limit(Some("500,250")), Ok((500, 250)));
    assert_eq!(parse_limit(Some("25")), Ok((0, 25)));
    assert!(parse_limit(Some("0,251")).unwrap_err().contains("251"));
    assert!(parse_limit(Some("x")).is_err());
}

#[test]
fn the_bucket_starts_full_and_is_replenished_continuously() {
    // §7: 750 units a minute, replenished continuously; empty → 375 units after 30 s.
    let mut bucket = crate::Bucket::full(RATE_LIMIT as u32);
    let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    for n in 1..=RATE_LIMIT {
        assert_eq!(bucket.take(t0), Ok(()), "unit {n} of a full bucket");
    }
    assert_eq!(bucket.remaining(), 0);
    assert_eq!(bucket.secs_until_full(), 60);
    let wait = bucket.take(t0).unwrap_err();
    assert!(
        wait.as_millis().abs_diff(80) <= 1,
        "one unit refills in 80 ms: {wait:?}"
    );
    let half = t0 + std::time::Duration::from_secs(30);
    assert_eq!(bucket.take(half), Ok(()));
    assert_eq!(bucket.remaining(), 374, "375 after 30 s, one of them taken");
    // It never holds more than its capacity.
    let later = t0 + std::time::Duration::from_secs(3600);
    assert_eq!(bucket.take(later), Ok(()));
    assert_eq!(bucket.remaining(), RATE_LIMIT as u64 - 1);
}

#[test]
fn every_demo_group_but_the_empty_one_is_decoded_and_most_have_members() {
    let now = now_ms();
    let people = demo_people(now);
    let maps = Maps::default();
    let mut with_members = 0;
    for g in demo_groups().unwrap() {
        let rule = rule_of(g.group.filters.clone(), &maps);
        let n = people.iter().filter(|p| selects(&rule, p, now)).count();
        assert!(
            n < people.len() || g.group.filters.is_empty(),
            "{} selects all",
            g.id
        );
        if n > 0 {
            with_members += 1;
        }
    }
    assert_eq!(with_members, 9, "every demo group has members");
}
