//! Reading request parameters loosely, as the real API accepts them (ints as text,
//! `0`/`1` or booleans), and paging answers.

use super::*;

pub(super) fn int(p: &Map<String, Json>, key: &str) -> Result<Option<i64>, Failure> {
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) if v.as_str().is_some_and(|s| s.trim().is_empty()) => Ok(None),
        Some(v) => loose_int(v)
            .map(Some)
            .ok_or_else(|| fail(BAD_REQUEST, format!("{key} must be an integer."))),
    }
}

pub(super) fn flag(p: &Map<String, Json>, key: &str) -> Result<Option<bool>, Failure> {
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => loose_bool(v)
            .map(Some)
            .ok_or_else(|| fail(BAD_REQUEST, format!("{key} must be 0 or 1."))),
    }
}

pub(super) fn text(p: &Map<String, Json>, key: &str) -> Result<Option<String>, Failure> {
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(Json::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(fail(BAD_REQUEST, format!("{key} must be a string."))),
    }
}

/// An int array; from a URL it arrives as `1,2,3` (choice). The console's `""` is empty.
pub(super) fn ints(p: &Map<String, Json>, key: &str) -> Result<Option<Vec<i64>>, Failure> {
    let bad = || fail(BAD_REQUEST, format!("{key} must be an array of integers."));
    match p.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(items)) => items
            .iter()
            .map(|v| loose_int(v).ok_or_else(bad))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(Json::String(s)) if s.trim().is_empty() => Ok(Some(Vec::new())),
        Some(Json::String(s)) => s
            .split(',')
            .map(|x| x.trim().parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(v) => loose_int(v).map(|n| Some(vec![n])).ok_or_else(bad),
    }
}

/// `page` (default 1, min 1) and `rpp` (default 20, 1..=250, §3.3).
pub(super) fn page_and_rpp(p: &Map<String, Json>) -> Result<(i64, i64), Failure> {
    let page = int(p, "page")?.unwrap_or(1);
    let rpp = int(p, "rpp")?.unwrap_or(20);
    if page < 1 {
        return Err(fail(BAD_REQUEST, "page must be at least 1."));
    }
    if !(1..=250).contains(&rpp) {
        return Err(fail(BAD_REQUEST, "rpp must be between 1 and 250."));
    }
    Ok((page, rpp))
}

/// One page of `items` with the documented paging block (§6: `next`/`prev` are strings,
/// `""` when none; choice: the page number as their non-empty content).
/// Only the page's records are turned into JSON: a page of 250 out of 10,000 groups
/// costs 250 records, not 10,000 (the bench measures sgsync, not the sandbox).
pub(super) fn paged<T>(items: Vec<T>, page: i64, rpp: i64, record: impl Fn(T) -> Json) -> Json {
    let total = items.len() as i64;
    let records: Vec<Json> = items
        .into_iter()
        .skip(((page - 1) * rpp) as usize)
        .take(rpp as usize)
        .map(record)
        .collect();
    page_of(records, total, page, rpp)
}

/// The answer for one page already cut out of `total` records.
pub(super) fn page_of(records: Vec<Json>, total: i64, page: i64, rpp: i64) -> Json {
    let total_pages = (total + rpp - 1) / rpp;
    let paging = Paging {
        next: if page < total_pages {
            (page + 1).to_string()
        } else {
            String::new()
        },
        page,
        rpp,
        total_pages,
        total_records: total,
        prev: if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        },
    };
    json!({"paging": paging, "records": records})
}
