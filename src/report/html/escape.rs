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

/// Escapes text in which `` `spans` `` mark code (remediation advice is written that
/// way), and shows those spans as `<code>`. An unpaired backtick stays a backtick.
pub fn escape_with_code(text: &str) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return escape(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(&escape(part));
            out.push_str("</code>");
        } else {
            out.push_str(&escape(part));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_with_code};

    #[test]
    fn backtick_spans_become_code_and_stay_escaped() {
        assert_eq!(
            escape_with_code("Send `X-A: <b>` now"),
            "Send <code>X-A: &lt;b&gt;</code> now"
        );
        assert_eq!(escape_with_code("one ` only"), "one ` only");
    }

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
