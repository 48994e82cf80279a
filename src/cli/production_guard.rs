//! Takes the URL of an ad-hoc `load` or `scan` and the project in `--root`, gives the
//! production environment that URL belongs to, if any — which the command refuses
//! unless `--production` was given, and whose limits it then applies.

use crate::config::environment::{Environment, Tier};
use crate::http_model::Origin;
use std::path::Path;

/// The production environment of the project at `root` whose origin is `url`'s.
pub(super) fn production_environment(root: &Path, url: &url::Url) -> Option<Environment> {
    let origin = Origin::of(url)?;
    crate::config::environments(root)
        .into_iter()
        .find(|e| e.tier == Tier::Production && e.origin().as_ref() == Some(&origin))
}

/// The refusal of a production URL without `--production` (invalid input: nothing was
/// sent).
pub(super) fn refusal(
    command: &str,
    url: &str,
    environment: &Environment,
    root: &Path,
) -> super::CliError {
    super::CliError::invalid(format!(
        "`{url}` is production environment `{}` of the project in `{}`; `stagegate {command}` refuses it without `--production` (nothing was sent) (hint: add `--production` to run it within that environment's limits)",
        environment.name,
        root.display()
    ))
}
