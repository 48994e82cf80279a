//! Takes an environment and a way to read secrets, gives its [`Target`] (or why not).

use crate::config::environment::{Environment, Tier};
pub use crate::vocabulary::target::DEFAULT_BODY_LIMIT;
pub use crate::vocabulary::Target;

/// The secret an environment needs is not set.
#[derive(Debug, thiserror::Error)]
#[error("environment `{environment}` needs the secret in `${variable}`, which is not set (hint: export {variable}=...)")]
pub struct MissingSecret {
    /// Environment name.
    pub environment: String,
    /// Variable name.
    pub variable: String,
}

/// Why a plan's target cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The environment's secret is not set.
    #[error(transparent)]
    MissingSecret(#[from] MissingSecret),
    /// The environment starts itself in a container, and it has not been started.
    #[error("environment `{0}` starts itself in a container, which has not been started (hint: `stagegate run` starts it; a library caller uses `provision::start` and `provision::Provisioned::point`)")]
    NotStarted(String),
}

impl Target {
    /// Resolves the environment's address and secret; `lookup` reads a variable
    /// (the process environment in the CLI).
    pub fn resolve(
        environment: &Environment,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Target, TargetError> {
        let base_url = environment
            .reach
            .base_url()
            .ok_or_else(|| TargetError::NotStarted(environment.name.clone()))?;
        let mut secrets = Vec::new();
        let mut header_of = |auth: &Option<crate::config::environment::AuthHeader>| {
            let Some(auth) = auth else {
                return Ok(Vec::new());
            };
            let value = lookup(&auth.token_env)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| MissingSecret {
                    environment: environment.name.clone(),
                    variable: auth.token_env.clone(),
                })?;
            secrets.push(value.clone());
            Ok::<_, MissingSecret>(vec![(auth.header.clone(), value)])
        };
        let headers = header_of(&environment.auth)?;
        let mut other_origins = Vec::new();
        for other in &environment.other_origins {
            other_origins.push((other.origin.clone(), header_of(&other.auth)?));
        }
        let body_limit = environment
            .limits
            .max_body_bytes
            .map_or(DEFAULT_BODY_LIMIT, |b| b as usize);
        let target = Target::from_parts(
            base_url.as_str(),
            headers,
            other_origins,
            secrets,
            body_limit,
        );
        Ok(match environment.tier {
            Tier::Production => target.in_production(&environment.name),
            Tier::Test => target,
        })
    }
}
