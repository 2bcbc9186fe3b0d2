//! The demo data: the nine real smart groups of the 2016 dump and a few dozen people.

use super::*;

/// The nine real groups of 2016 (§3), with their real prefs and links.
pub(super) fn demo_groups() -> std::io::Result<Vec<StoredGroup>> {
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    let groups = wire::parse_groups(FIXTURE)
        .map_err(|e| invalid(format!("demo fixture smartgroups_2016.json: {e}")))?;
    let raw: Json = serde_json::from_str(FIXTURE)
        .map_err(|e| invalid(format!("demo fixture smartgroups_2016.json: {e}")))?;
    let rows = raw["list"].as_array().cloned().unwrap_or_default();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let id = group
                .id
                .clone()
                .ok_or_else(|| invalid(format!("demo group {:?} has no id", group.name)))?;
            let extra = |key: &str| rows.get(i).and_then(|r| r.get(key)).cloned();
            Ok(StoredGroup {
                prefs: extra("prefs").unwrap_or(Json::Null),
                links: extra("_links").unwrap_or(Json::Null),
                group,
                id,
            })
        })
        .collect()
}

const DEMO_NAMES: [(&str, Option<&str>); 40] = [
    ("Amelia Hart", Some("acme.io")),
    ("Oliver Bennett", Some("globex.com")),
    ("Isla Chen", Some("initech.co.uk")),
    ("Noah Fischer", Some("gmail.com")),
    ("Ava Patel", Some("acme.io")),
    ("Leo Moreau", None),
    ("Mia Rossi", Some("globex.com")),
    ("Arthur Quinn", Some("initech.co.uk")),
    ("Grace Okafor", Some("gmail.com")),
    ("Jack Lindqvist", Some("acme.io")),
    ("Freya Novak", Some("globex.com")),
    ("Oscar Duarte", Some("gmail.com")),
    ("Lily Nakamura", None),
    ("Harry Walsh", Some("initech.co.uk")),
    ("Ella Schmidt", Some("acme.io")),
    ("Charlie Ahmed", Some("globex.com")),
    ("Sophie Laurent", Some("gmail.com")),
    ("Thomas Byrne", Some("acme.io")),
    ("Emily Kowalski", Some("initech.co.uk")),
    ("George Mensah", None),
    ("Chloe Dubois", Some("globex.com")),
    ("Henry Vargas", Some("gmail.com")),
    ("Ruby Sato", Some("acme.io")),
    ("Alfie Murphy", Some("initech.co.uk")),
    ("Evie Johansson", Some("globex.com")),
    ("Theo Romano", Some("gmail.com")),
    ("Poppy Singh", Some("acme.io")),
    ("Archie Costa", None),
    ("Daisy O'Neill", Some("globex.com")),
    ("Finley Kim", Some("initech.co.uk")),
    ("Rosie Almeida", Some("gmail.com")),
    ("Joshua Meyer", Some("acme.io")),
    ("Ivy Petrov", Some("globex.com")),
    ("Max Haddad", Some("initech.co.uk")),
    ("Florence Ito", Some("gmail.com")),
    ("Edward Silva", Some("acme.io")),
    ("Willow Brennan", None),
    ("Samuel Adeyemi", Some("globex.com")),
    ("Matilda Berg", Some("gmail.com")),
    ("Lucas Ferreira", Some("initech.co.uk")),
];

pub(super) fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// ~40 people whose values spread across every demo group (times relative to `now`).
pub(super) fn demo_people(now: Millis) -> Vec<StoredPerson> {
    const SEEN_DAYS_AGO: [f64; 8] = [0.1, 0.5, 2.0, 7.0, 20.0, 40.0, 90.0, 0.3];
    const VISITS: [i64; 7] = [1, 4, 1, 17, 2, 1, 9];
    const ENGAGED_MS: [i64; 5] = [120_000, 4_200_000, 900_000, 7_500_000, 60_000];
    const COUNTRIES: [&str; 8] = ["GB", "US", "DE", "FR", "US", "GB", "NL", "ES"];
    DEMO_NAMES
        .iter()
        .enumerate()
        .map(|(i, (name, domain))| {
            let days = |d: f64| now - (d * DAY_MS as f64) as i64;
            let seen = days(SEEN_DAYS_AGO[i % 8]);
            let visits = VISITS[i % 7];
            let email = domain.map(|d| {
                let local = name.to_ascii_lowercase().replace([' ', '\''], ".");
                format!("{local}@{d}")
            });
            let referrer = match i % 3 {
                0 => json!({"domain": "www.google.com", "href": "https://www.google.com/", "type": "search"}),
                1 if i % 2 == 0 => json!({"domain": "twitter.com", "href": format!("https://twitter.com/status/{}", 1000 + i), "type": "social"}),
                _ => json!({"type": "direct"}),
            };
            let klout = if i % 4 == 0 { json!({"score": 20 + (i * 7) % 50}) } else { json!({}) };
            let mut events = BTreeMap::new();
            if i % 5 == 0 {
                events.insert(
                    "Entered Smart Group".to_owned(),
                    vec![days(((i % 25) + 40) as f64), days((i % 25) as f64 + 0.2)],
                );
            }
            let last_event = events.values().flatten().max().copied();
            let person = json!({
                "id": format!("user-{:03}", i + 1),
                "email": email,
                "name": name,
                "created_at": iso(seen - (30 + i as i64) * DAY_MS),
                "last": {
                    "seen": iso(seen),
                    "location": {"country": {"code": COUNTRIES[i % 8]}},
                },
                "first": {"seen": iso(seen - (30 + i as i64) * DAY_MS), "referrer": referrer},
                "totals": {
                    "visits": visits,
                    "pageviews": visits * 3,
                    "engaged_time": ENGAGED_MS[i % 5],
                },
                "social": {"klout": klout},
                "events": {"last": last_event},
            });
            StoredPerson {
                properties: person.as_object().cloned().unwrap_or_default(),
                events,
            }
        })
        .collect()
}
