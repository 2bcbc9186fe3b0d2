//! Statement text both backends read the same way. Parameters are numbered (`$1`, `$2`,
//! …): PostgreSQL knows no other form, and SQLite reads `$N` as the N-th argument.

/// `$first, $first+1, …` — `n` numbered parameters, for an `IN (…)` list.
pub(crate) fn marks(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, …, $cols), ($cols+1, …), …` — the VALUES of a multi-row INSERT of `rows` rows
/// of `cols` columns each.
pub(crate) fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", marks(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_across_rows() {
        assert_eq!(marks(3, 2), "$3, $4");
        assert_eq!(marks(1, 0), "");
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
