//! Takes the templated texts of a request as a file writes them (path, headers, body),
//! gives parsed [`Template`]s whose every `{{name}}` is defined, and judges where each
//! path may send its request (the origin fence, on the text), each mistake located.

use super::diagnostic::{Diagnostics, SourceFile};
use super::suite::OffBaseRequest;
use crate::http_model::origin::{self, PathForm};
use crate::template::Template;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use toml::Spanned;

/// The variables a text may use: those defined before it (`known`), and those a later
/// step of the same sequence extracts (`later`, variable → the step that does), which
/// get their own message: the value does not exist yet when the text is sent.
pub(super) struct Scope<'a> {
    /// Defined before the text is sent.
    pub known: &'a BTreeSet<String>,
    /// Extracted only by a later step: variable → `` `name` (step N) ``.
    pub later: &'a BTreeMap<String, String>,
    /// The hint when nothing is defined yet.
    pub none_known: &'a str,
}

/// No variable is extracted later (probes, whose setup steps all come first).
pub(super) static NOTHING_LATER: BTreeMap<String, String> = BTreeMap::new();

/// Parses `text` as a template whose variables must all be in scope; mistakes are
/// reported at `span`.
pub(super) fn template_at(
    file: &SourceFile,
    span: Range<usize>,
    text: &str,
    scope: &Scope<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<Template> {
    match Template::parse(text) {
        Ok(t) => {
            check_variables(file, span, &t, scope, diagnostics);
            Some(t)
        }
        Err(e) => {
            diagnostics.push(file.diagnostic(
                span,
                format!("bad template: {e}"),
                Some("text with `{{name}}` placeholders".into()),
            ));
            None
        }
    }
}

/// [`template_at`] at the text's own span.
pub(super) fn template(
    file: &SourceFile,
    text: &Spanned<String>,
    scope: &Scope<'_>,
    diagnostics: &mut Diagnostics,
) -> Option<Template> {
    template_at(file, text.span(), text.get_ref(), scope, diagnostics)
}

/// Reports every variable of `template` that is not in scope, at the placeholder itself
/// when it can be found inside `span`.
pub(super) fn check_variables(
    file: &SourceFile,
    span: Range<usize>,
    template: &Template,
    scope: &Scope<'_>,
    diagnostics: &mut Diagnostics,
) {
    for var in template.variables() {
        if scope.known.contains(var) {
            continue;
        }
        let at = placeholder_span(file, &span, var).unwrap_or_else(|| span.clone());
        if let Some(step) = scope.later.get(var) {
            diagnostics.push(file.diagnostic(
                at,
                format!("variable `{var}` is extracted only by a later step, {step}"),
                Some(format!(
                    "a value from a feeder or an earlier step; move the extraction of `{var}` before this step, or use it after {step}"
                )),
            ));
            continue;
        }
        let mut names: Vec<String> = scope.known.iter().map(|n| format!("`{n}`")).collect();
        names.truncate(12);
        diagnostics.push(file.diagnostic(
            at,
            format!("unknown variable `{var}`"),
            Some(if names.is_empty() {
                scope.none_known.to_string()
            } else {
                format!("one of {}", names.join(", "))
            }),
        ));
    }
}

/// Where `{{var}}` (spaces allowed inside the braces) is written within `span`.
fn placeholder_span(file: &SourceFile, span: &Range<usize>, var: &str) -> Option<Range<usize>> {
    let text = file.text.get(span.clone())?;
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| from + i) {
        let close = text[open..].find("}}").map(|i| open + i + 2)?;
        if text[open + 2..close - 2].trim() == var {
            return Some(span.start + open..span.start + close);
        }
        from = open + 2;
    }
    None
}

/// Refuses a `{{…}}` in text that is used as written — a check's or matcher's expected
/// text, an extraction's names, a header's name: it would be compared or sent
/// literally, never filled in. `what` names the place (`a check`); the error points at
/// the placeholder when it can be found inside `span`.
pub(super) fn refuse_in_literal_text<'t>(
    file: &SourceFile,
    span: Range<usize>,
    what: &str,
    texts: impl IntoIterator<Item = &'t str>,
    diagnostics: &mut Diagnostics,
) {
    for text in texts {
        let Some(open) = text.find("{{") else {
            continue;
        };
        let close = text[open..].find("}}").map_or(text.len(), |i| open + i + 2);
        let placeholder = &text[open..close];
        let at = file
            .text
            .get(span.clone())
            .and_then(|t| t.find(placeholder))
            .map_or(span.clone(), |i| {
                span.start + i..span.start + i + placeholder.len()
            });
        diagnostics.push(file.diagnostic(
            at,
            format!("`{placeholder}` in {what} is never filled in: {what} uses its text as written"),
            Some("literal text; a `{{name}}` placeholder belongs in a step's path, headers or body".into()),
        ));
    }
}

/// Judges where a request path sends its request, on its text: below the base URL, or
/// a full URL with a written-out origin (collected in `off_base`, checked against the
/// stage's environment once the rollout is known). Anything that could leave the origin
/// (`//host`, `/\host`, a templated host) is refused here. Gives whether it is valid.
pub(super) fn check_path(
    file: &SourceFile,
    path: &Spanned<String>,
    off_base: &mut Vec<OffBaseRequest>,
    diagnostics: &mut Diagnostics,
) -> bool {
    match origin::classify(path.get_ref()) {
        Ok(PathForm::BelowBase) => true,
        Ok(PathForm::Absolute(origin)) => {
            off_base.push(OffBaseRequest {
                origin,
                at: file.diagnostic(path.span(), String::new(), None),
            });
            true
        }
        Err(e) => {
            diagnostics.push(file.diagnostic(
                path.span(),
                format!("`{}` could leave the environment's origin: {e}", path.get_ref()),
                Some("a path below the environment's base URL, such as `/api/thu-tuc`, or a full URL on an origin listed in the environment's `other-origins`".into()),
            ));
            false
        }
    }
}
