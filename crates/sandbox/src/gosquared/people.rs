//! People and their smart groups' members: searched, filtered by the group's
//! filters, sorted and paged as the People API documents (gosquared.md §6).

use super::*;

pub(super) async fn group_members(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let filters = match lock(&state.data).groups.iter().find(|g| g.id == id) {
        Some(g) => g.group.filters.clone(),
        None => return unknown_group(),
    };
    people_page(&state, filters, &params)
}

pub(super) async fn search_people(
    State(state): State<Shared>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    // `filters` is a JSON-encoded array, default `[]` (§6).
    let filters = match params
        .get("filters")
        .map(|f| serde_json::from_str::<Json>(f))
    {
        None => Vec::new(),
        Some(Ok(Json::Array(items))) => items,
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                4003,
                "Invalid parameter: filters must be a JSON array",
            );
        }
    };
    people_page(&state, filters, &params)
}

/// One page of the people `filters` selects, shaped by `limit`, `sort` and `fields` (§6).
pub(super) fn people_page(
    state: &Shared,
    filters: Vec<Json>,
    params: &HashMap<String, String>,
) -> Response {
    let (offset, count) = match parse_limit(params.get("limit").map(String::as_str)) {
        Ok(limit) => limit,
        Err(why) => return api_error(StatusCode::BAD_REQUEST, 4003, &why),
    };
    let now = now_ms();
    let sort = params.get("sort").map_or("last.seen:desc", String::as_str);
    let data = lock(&state.data);
    let key = Selection {
        people_version: data.people_version,
        filters: Json::Array(filters.clone()).to_string(),
        sort: sort.to_owned(),
        time_bucket: now / 10_000,
        indices: Arc::default(),
    };
    let cached = lock(&state.selection)
        .as_ref()
        .filter(|c| {
            Selection {
                indices: Arc::default(),
                ..(*c).clone()
            } == key
        })
        .map(|c| c.indices.clone());
    let indices = match cached {
        Some(indices) => indices,
        None => {
            let rule = rule_of(filters, &state.maps);
            let mut selected: Vec<(usize, &StoredPerson)> = data
                .people
                .iter()
                .enumerate()
                .filter(|(_, p)| selects(&rule, p, now))
                .collect();
            sort_indexed(&mut selected, sort);
            let indices: Arc<Vec<usize>> = Arc::new(selected.iter().map(|(i, _)| *i).collect());
            *lock(&state.selection) = Some(Selection {
                indices: indices.clone(),
                ..key
            });
            indices
        }
    };
    let members: Vec<&StoredPerson> = indices.iter().filter_map(|i| data.people.get(*i)).collect();
    let fields: Option<Vec<&str>> = params.get("fields").map(|f| {
        f.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect()
    });
    let list: Vec<Json> = members
        .iter()
        .skip(offset)
        .take(count)
        .map(|p| project(&p.properties, fields.as_deref()))
        .collect();
    axum::Json(json!({"list": list, "cardinality": members.len()})).into_response()
}

/// `limit=offset,count` or `limit=count`, default `0,10`, count at most 250 (§6).
pub(super) fn parse_limit(raw: Option<&str>) -> Result<(usize, usize), String> {
    let Some(raw) = raw else {
        return Ok((0, 10));
    };
    let bad = || format!("Invalid parameter: limit {raw:?} must be \"offset,count\"");
    let (offset, count) = match raw.split_once(',') {
        Some((o, c)) => (o.trim().parse().map_err(|_| bad())?, c.trim()),
        None => (0, raw.trim()),
    };
    let count: usize = count.parse().map_err(|_| bad())?;
    if count > MAX_PAGE {
        return Err(format!(
            "Invalid parameter: limit count {count} exceeds {MAX_PAGE}"
        ));
    }
    Ok((offset, count))
}

/// The canonical rule of a filter array, read the way sgsync reads GoSquared.
pub(super) fn rule_of(filters: Vec<Json>, maps: &Maps) -> Rule {
    let group = WireGroup {
        id: None,
        name: String::new(),
        filters,
    };
    dialect::decode(&group, maps).group.rule
}

/// Whether `rule` selects `person` now; an unreadable (opaque) node selects nobody.
pub(super) fn selects(rule: &Rule, person: &StoredPerson, now: Millis) -> bool {
    let profile = Profile {
        properties: person.properties.clone(),
        events: person.events.clone(),
        ..Profile::default()
    };
    evaluate(rule, &profile, now) == Some(true)
}

/// `<path>:asc|desc`; people without the property go last, ties keep insertion order.
pub(super) fn sort_indexed(people: &mut [(usize, &StoredPerson)], sort: &str) {
    let (path, desc) = match sort.rsplit_once(':') {
        Some((p, dir)) => (p, dir.eq_ignore_ascii_case("desc")),
        None => (sort, false),
    };
    people.sort_by(|(_, a), (_, b)| {
        match (lookup(&a.properties, path), lookup(&b.properties, path)) {
            (Some(x), Some(y)) => {
                let o = compare(x, y);
                if desc { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    });
}

pub(super) fn compare(x: &Json, y: &Json) -> Ordering {
    match (x, y) {
        (Json::Number(a), Json::Number(b)) => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        // RFC 3339 times in UTC with one format sort as text.
        (Json::String(a), Json::String(b)) => a.cmp(b),
        _ => Ordering::Equal,
    }
}

pub(super) fn lookup<'a>(obj: &'a Map<String, Json>, path: &str) -> Option<&'a Json> {
    let mut parts = path.split('.');
    let mut at = obj.get(parts.next()?)?;
    for part in parts {
        at = at.as_object()?.get(part)?;
    }
    Some(at).filter(|v| !v.is_null())
}

/// The person restricted to `fields` (dot paths), or whole.
pub(super) fn project(person: &Map<String, Json>, fields: Option<&[&str]>) -> Json {
    let Some(fields) = fields else {
        return Json::Object(person.clone());
    };
    let mut out = Map::new();
    for path in fields {
        if let Some(value) = lookup(person, path) {
            insert_path(&mut out, path, value.clone());
        }
    }
    Json::Object(out)
}

pub(super) fn insert_path(obj: &mut Map<String, Json>, path: &str, value: Json) {
    match path.split_once('.') {
        None => {
            obj.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = obj
                .entry(head.to_owned())
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
    }
}
