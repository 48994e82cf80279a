//! Takes a file's text and a byte span, gives an error that points at the exact text:
//! `path:line:column`, the line, carets under the offending text, and what was expected.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// The most characters of a line an error quotes.
const SHOWN_CHARS: usize = 160;

/// A user file held in memory so errors can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the project root when possible).
    pub path: PathBuf,
    /// The whole text of the file.
    pub text: String,
}

impl SourceFile {
    /// Builds a diagnostic pointing at `span` in this file.
    pub fn diagnostic(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        expected: Option<String>,
    ) -> Diagnostic {
        let mut start = span.start.min(self.text.len());
        while !self.text.is_char_boundary(start) {
            start -= 1;
        }
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[line_start..]
            .find('\n')
            .map_or(self.text.len(), |i| line_start + i);
        let line_text = self.text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        // Columns count characters, not bytes: Vietnamese text is multi-byte.
        let column = self.text[line_start..start].chars().count() + 1;
        let mut end = span.end.clamp(start, line_end);
        while !self.text.is_char_boundary(end) {
            end += 1;
        }
        let width = self.text[start..end].chars().count().max(1);
        Diagnostic {
            path: self.path.clone(),
            line,
            column,
            width,
            line_text,
            message: message.into(),
            expected,
        }
    }

    /// Parses the file into `T`; a syntax or type error becomes a diagnostic.
    pub fn parse_toml<T: serde::de::DeserializeOwned>(
        &self,
        diagnostics: &mut Diagnostics,
    ) -> Option<T> {
        match toml::from_str(&self.text) {
            Ok(value) => Some(value),
            Err(e) => {
                diagnostics.push(from_toml_error(self, &e));
                None
            }
        }
    }

    /// A diagnostic for the first line, for problems that belong to the whole file.
    pub fn whole_file(&self, message: impl Into<String>, expected: Option<String>) -> Diagnostic {
        self.diagnostic(0..0, message, expected)
    }
}

/// One mistake in one file, with its exact position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as shown to the user.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// How many characters the carets cover.
    pub width: usize,
    /// The text of the offending line.
    pub line_text: String,
    /// What is wrong.
    pub message: String,
    /// What would have been accepted, when it is known.
    pub expected: Option<String>,
}

/// The fixed words around a rendered diagnostic, so the command line can frame it in
/// the reader's language; the message, the path and the quoted line stay as they are.
#[derive(Debug, Clone, Copy)]
pub struct DiagnosticWords {
    /// Before the message: `error:`.
    pub error: &'static str,
    /// Before what would have been accepted: `expected`.
    pub expected: &'static str,
    /// The last line, under every mistake: how many were found.
    pub summary: fn(usize) -> String,
}

/// English, as [`Diagnostic`]'s `Display` writes it.
pub const EN_WORDS: DiagnosticWords = DiagnosticWords {
    error: "error:",
    expected: "expected",
    summary: |count| {
        format!(
            "{count} error{} found; nothing was sent to any target",
            if count == 1 { "" } else { "s" }
        )
    },
};

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_with(f, &EN_WORDS)
    }
}

impl Diagnostic {
    /// Writes the diagnostic framed by `words`.
    fn write_with(&self, f: &mut fmt::Formatter<'_>, words: &DiagnosticWords) -> fmt::Result {
        writeln!(f, "{} {}", words.error, self.message)?;
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        writeln!(
            f,
            "{gutter}--> {}:{}:{}",
            self.path.display(),
            self.line,
            self.column
        )?;
        writeln!(f, "{gutter} |")?;
        // A hostile file can hold a line of a megabyte: show a window of it around the
        // column, never the whole line.
        let chars = self.line_text.chars().count();
        let from = if chars > SHOWN_CHARS {
            self.column.saturating_sub(1 + SHOWN_CHARS / 3)
        } else {
            0
        };
        let shown: String = self
            .line_text
            .chars()
            .skip(from)
            .take(SHOWN_CHARS)
            .collect();
        let (before, after) = (
            if from > 0 { "…" } else { "" },
            if from + SHOWN_CHARS < chars {
                "…"
            } else {
                ""
            },
        );
        writeln!(f, "{number} | {before}{shown}{after}")?;
        let pad: String = before
            .chars()
            .map(|_| ' ')
            .chain(
                self.line_text
                    .chars()
                    .skip(from)
                    .take(self.column.saturating_sub(1 + from))
                    .map(|c| if c == '\t' { '\t' } else { ' ' }),
            )
            .collect();
        let width = self.width.min(SHOWN_CHARS);
        write!(f, "{gutter} | {pad}{}", "^".repeat(width))?;
        if let Some(expected) = &self.expected {
            write!(f, "\n{gutter} = {} {expected}", words.expected)?;
        }
        Ok(())
    }
}

/// Every mistake found in a set of files: validation reports them all, not just the first.
#[derive(Debug, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one mistake.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_with(f, &EN_WORDS)
    }
}

impl Diagnostics {
    /// Every mistake and the count under them, framed by `words`.
    pub fn render(&self, words: &DiagnosticWords) -> String {
        /// Borrows a `Formatter` for [`Diagnostics::write_with`].
        struct Framed<'a>(&'a Diagnostics, &'a DiagnosticWords);
        impl fmt::Display for Framed<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write_with(f, self.1)
            }
        }
        Framed(self, words).to_string()
    }

    fn write_with(&self, f: &mut fmt::Formatter<'_>, words: &DiagnosticWords) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            diagnostic.write_with(f, words)?;
            writeln!(f)?;
        }
        write!(f, "{}", (words.summary)(self.0.len()))
    }
}

/// Turns a toml parse or type error into a diagnostic of `file`.
pub fn from_toml_error(file: &SourceFile, error: &toml::de::Error) -> Diagnostic {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim().to_string();
    let span = narrowed(file, span, &message);
    // serde phrases its expectations inside the message ("expected one of ..."); split them
    // out so every diagnostic has the same shape.
    match message.split_once(", expected ") {
        Some((what, expected)) => {
            file.diagnostic(span, what.to_string(), Some(expected.to_string()))
        }
        None => file.diagnostic(span, message, None),
    }
}

/// serde locates a value's own error at the table or array around it; a message that
/// names the offending text first (`` `$.token` is ... ``) is pointed at that text when
/// it is written, quoted, inside the span.
fn narrowed(file: &SourceFile, span: Range<usize>, message: &str) -> Range<usize> {
    let named = message
        .strip_prefix('`')
        .and_then(|rest| rest.split_once("` "))
        .map(|(text, _)| text);
    let Some(text) = named.filter(|t| !t.is_empty()) else {
        return span;
    };
    let quoted = format!("\"{text}\"");
    file.text
        .get(span.clone())
        .and_then(|within| within.find(&quoted))
        .map_or(span.clone(), |i| {
            span.start + i..span.start + i + quoted.len()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let file = SourceFile {
            path: "x.toml".into(),
            text: "a = 1\nten = \"Đăng ký\" x\n".into(),
        };
        let offset = file.text.find(" x").unwrap_or(0) + 1;
        let d = file.diagnostic(offset..offset + 1, "stray text", None);
        assert_eq!((d.line, d.column, d.width), (2, 17, 1));
        assert!(d.to_string().contains("--> x.toml:2:17"));
        assert!(d.to_string().ends_with("|                 ^"));
    }
}
