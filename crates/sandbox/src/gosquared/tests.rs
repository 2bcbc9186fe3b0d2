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
fn the_meter_counts_a_rolling_minute() {
    let recent = Mutex::new(VecDeque::new());
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    for n in 1..=RATE_LIMIT {
        assert_eq!(meter(&recent, t0), (RATE_LIMIT - n, None));
    }
    let (left, wait) = meter(&recent, t0 + Duration::from_secs(15));
    assert_eq!((left, wait), (0, Some(Duration::from_secs(45))));
    assert_eq!(meter(&recent, t0 + Duration::from_secs(60)).1, None);
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
