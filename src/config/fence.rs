//! The production fence, as far as files can say it. Takes the validated environments
//! and each system's rollout and suites, gives located errors for what would let a
//! credential or an unsafe request reach the wrong place: a request written as a full
//! URL on an origin its stage's environment does not list, and two environments at the
//! same origin with different tiers (which would let a test-tier stage reach
//! production). Which tier each stage must use is checked with the rollout itself.

use super::diagnostic::{Diagnostics, SourceFile};
use super::environment::Environment;
use super::rollout::Rollout;
use super::suite::Suite;
use std::collections::BTreeMap;

/// Every full-URL request of every suite a stage runs must be on an origin the stage's
/// environment lists (its own, or one of `other-origins`).
pub(super) fn check_stages(
    rollout: &Rollout,
    suites: &BTreeMap<String, Suite>,
    environments: &BTreeMap<String, Environment>,
    diagnostics: &mut Diagnostics,
) {
    let mut reported = std::collections::BTreeSet::new();
    for (stage, spec) in &rollout.stages {
        let Some(environment) = environments.get(&spec.environment) else {
            continue;
        };
        for suite in spec.suites.iter().filter_map(|n| suites.get(n)) {
            for request in &suite.off_base {
                if environment.allows(&request.origin) {
                    continue;
                }
                let key = (
                    request.at.path.clone(),
                    request.at.line,
                    request.at.column,
                    environment.name.clone(),
                );
                if !reported.insert(key) {
                    continue;
                }
                let mut d = request.at.clone();
                d.message = format!(
                    "request to `{}` leaves the origin of environment `{}` (stage `{stage}`), which does not list it: the environment's credentials would go there",
                    request.origin, environment.name
                );
                d.expected = Some(format!(
                    "a path below the base URL, or `[[other-origins]] url = \"{}\"` in environments/{}.toml",
                    request.origin, environment.name
                ));
                diagnostics.push(d);
            }
        }
    }
}

/// Two environments at one origin must have one tier: otherwise a `tier = "test"` file
/// pointing at the production URL lets test-tier traffic and checks reach production.
pub(super) fn check_tiers(
    environments: &BTreeMap<String, Environment>,
    env_files: &BTreeMap<String, SourceFile>,
    diagnostics: &mut Diagnostics,
) {
    let mut by_origin: BTreeMap<String, Vec<&Environment>> = BTreeMap::new();
    for env in environments.values() {
        if let Some(origin) = env.origin() {
            by_origin.entry(origin.to_string()).or_default().push(env);
        }
    }
    for (origin, envs) in by_origin {
        let Some(production) = envs
            .iter()
            .find(|e| e.tier == super::environment::Tier::Production)
        else {
            continue;
        };
        for env in envs.iter().filter(|e| e.tier != production.tier) {
            let (Some(file), Some(span)) = (env_files.get(&env.name), env.base_url_span.clone())
            else {
                continue;
            };
            diagnostics.push(file.diagnostic(
                span,
                format!(
                    "environment `{}` is tier `{}` at `{origin}`, the origin of production environment `{}`",
                    env.name,
                    env.tier.as_str(),
                    production.name
                ),
                Some("the address of a test system, or `tier = \"production\"`".into()),
            ));
        }
    }
}
