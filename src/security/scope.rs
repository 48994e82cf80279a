//! Takes out-of-scope path patterns, gives whether a path may be requested. A pattern
//! is a path where `*` matches any text (including `/`); it must match the whole path
//! (query string included), so `/admin*` covers `/admin/x` and `/admin?y`.

/// Whether `path` matches `pattern`.
pub fn matches(pattern: &str, path: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return path.is_empty(),
    };
    let Some(mut remaining) = path.strip_prefix(first) else {
        return false;
    };
    if rest.is_empty() {
        return remaining.is_empty();
    }
    let (last, middle) = match rest.split_last() {
        Some(split) => split,
        None => return true,
    };
    for part in middle {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}

/// The first pattern `path` matches, if any.
pub fn excluded_by<'a>(patterns: &'a [String], path: &str) -> Option<&'a str> {
    patterns
        .iter()
        .map(String::as_str)
        .find(|p| matches(p, path))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_matches_any_text_and_the_rest_is_exact() {
        assert!(matches("/metrics", "/metrics"));
        assert!(!matches("/metrics", "/metrics/x"));
        assert!(matches("/admin*", "/admin/users?id=1"));
        assert!(matches("/api/*/secret", "/api/v1/x/secret"));
        assert!(!matches("/api/*/secret", "/api/v1/secret2"));
        assert!(matches("*.sql", "/backup.sql"));
        assert!(!matches("/.git/*", "/.gitignore"));
        assert!(matches("*", "/anything"));
    }
}
