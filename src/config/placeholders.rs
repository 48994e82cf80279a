//! Takes the templated texts of a request as a file writes them (path, headers, body),
//! gives parsed [`Template`]s whose every `{{name}}` is defined, and judges where each
//! path may send its request (the origin fence, on the text), each mistake located.

use super::diagnostic::{Diagnostics, SourceFile};
use super::suite::OffBaseRequest;
use crate::http_model::origin::{self, PathForm};
use crate::template::Template;
use std::collections::BTreeSet;
use std::ops::Range;
use toml::Spanned;

/// Parses `text` as a template whose variables must all be in `known`; mistakes are
/// reported at `span`. `none_known` is the hint when nothing is defined yet.
pub(super) fn template_at(
    file: &SourceFile,
    span: Range<usize>,
    text: &str,
    known: &BTreeSet<String>,
    none_known: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Template> {
    match Template::parse(text) {
        Ok(t) => {
            check_variables(file, span, &t, known, none_known, diagnostics);
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
    known: &BTreeSet<String>,
    none_known: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Template> {
    template_at(
        file,
        text.span(),
        text.get_ref(),
        known,
        none_known,
        diagnostics,
    )
}

/// Reports every variable of `template` that is not in `known`.
pub(super) fn check_variables(
    file: &SourceFile,
    span: Range<usize>,
    template: &Template,
    known: &BTreeSet<String>,
    none_known: &str,
    diagnostics: &mut Diagnostics,
) {
    for var in template.variables() {
        if !known.contains(var) {
            let mut names: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
            names.truncate(12);
            diagnostics.push(file.diagnostic(
                span.clone(),
                format!("unknown variable `{var}`"),
                Some(if names.is_empty() {
                    none_known.to_string()
                } else {
                    format!("one of {}", names.join(", "))
                }),
            ));
        }
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
