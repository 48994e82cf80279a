//! Takes text, gives it escaped for HTML text and attribute values. Every value a
//! report shows passes through here: evidence and notes come from outside (a target's
//! response body, a person's note) and must never become markup.

/// Escapes `& < > " '` so the text is safe in element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_from_a_response_body_stays_text() {
        assert_eq!(
            escape(r#"<script src="http://x">'a' & b</script>"#),
            "&lt;script src=&quot;http://x&quot;&gt;&#39;a&#39; &amp; b&lt;/script&gt;"
        );
    }

    #[test]
    fn vietnamese_text_is_kept() {
        assert_eq!(escape("Nguyễn Văn Ân — hồ sơ"), "Nguyễn Văn Ân — hồ sơ");
    }
}
