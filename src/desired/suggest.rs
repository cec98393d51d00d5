//! "Did you mean": the accepted word nearest to a misspelt one, by edit distance (insertions,
//! deletions, substitutions and swaps of neighbours each count one), when it is near enough to
//! be a typo rather than a different word.

/// Optimal string alignment distance between `a` and `b`, case-insensitive.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// The candidate nearest to `word`, if within a third of its length (at least one edit).
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Very long input is nobody's typo, and the table is quadratic.
    if word.len() > 64 {
        return None;
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|&c| (distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key_and_other_words_do_not() {
        let keys = ["name", "match", "renewal", "min_remaining", "renew_period"];
        assert_eq!(nearest("min_remainig", &keys), Some("min_remaining"));
        assert_eq!(nearest("renwal", &keys), Some("renewal"));
        assert_eq!(nearest("mtach", &keys), Some("match"));
        assert_eq!(nearest("Name", &keys), Some("name"));
        assert_eq!(nearest("owner", &keys), None);
        assert_eq!(distance("", "abc"), 3);
    }
}
