//! Takes a text with `{{name}}` placeholders, gives a [`Template`] parsed once at
//! start-up and rendered per request without re-parsing.

use std::fmt;

/// A parsed template: literal text and variable references, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// Why a template could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without its `}}`.
    #[error("`{{{{` is not closed")]
    Unclosed,
    /// `{{}}` or a name with characters outside `[A-Za-z0-9_.-]`.
    #[error("`{0}` is not a variable name")]
    BadName(String),
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or(TemplateError::Unclosed)?;
            let name = after[..close].trim();
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(TemplateError::BadName(name.to_string()));
            }
            parts.push(Part::Variable(name.to_string()));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// A template that is all literal text, even if it contains `{{`.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Literal(text.to_string())],
        }
    }

    /// The variable names this template refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The text, when the template is a single literal (no rendering needed).
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Literal(text)] => Some(text),
            [] => Some(""),
            _ => None,
        }
    }

    /// True when the template has no variables.
    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// Renders with `lookup`; an unknown variable renders as the empty string, which
    /// validation prevents for every name it can see.
    pub fn render<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Variable(name) => out.push_str(lookup(name).unwrap_or_default()),
            }
        }
        out
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(text) => f.write_str(text)?,
                Part::Variable(name) => write!(f, "{{{{{name}}}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_variables_and_keeps_literals() {
        let t = Template::parse("/api/ho-so/{{ma_ho_so}}?ten={{cong-dan.ho_ten}}").unwrap();
        assert_eq!(
            t.variables().collect::<Vec<_>>(),
            ["ma_ho_so", "cong-dan.ho_ten"]
        );
        let out = t.render(|name| match name {
            "ma_ho_so" => Some("HS-1"),
            "cong-dan.ho_ten" => Some("Lê Ngọc Oanh"),
            _ => None,
        });
        assert_eq!(out, "/api/ho-so/HS-1?ten=Lê Ngọc Oanh");
        assert_eq!(
            t.to_string(),
            "/api/ho-so/{{ma_ho_so}}?ten={{cong-dan.ho_ten}}"
        );
    }

    #[test]
    fn rejects_unclosed_and_empty() {
        assert_eq!(Template::parse("/x/{{id"), Err(TemplateError::Unclosed));
        assert!(matches!(
            Template::parse("/x/{{ }}"),
            Err(TemplateError::BadName(_))
        ));
    }
}
