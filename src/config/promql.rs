//! Takes the text of a `promql` gate criterion, gives a [`PromqlQuery`] whose
//! `$variables` (the run's window and the system's labels) are known, and renders it
//! for one run. Sends nothing: the query is run by `metrics::promql`.

use serde::Serialize;

/// The variables a query may use. `$__range` is the run's window as a PromQL duration
/// (`37s`), `$__range_s` the same in seconds (`37`), the others are the run's labels.
pub const VARIABLES: [&str; 6] = [
    "__range",
    "__range_s",
    "system",
    "release",
    "stage",
    "environment",
];

/// A validated PromQL query of a gate criterion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromqlQuery {
    /// The query as written, with its `$variables`.
    pub text: String,
    /// A short name for tables and metrics.
    pub name: Option<String>,
}

/// The values of the variables for one run.
#[derive(Debug, Clone)]
pub struct QueryVariables {
    /// Length of the run's window in whole seconds (at least 1).
    pub range_s: u64,
    /// System.
    pub system: String,
    /// Release.
    pub release: String,
    /// Stage id.
    pub stage: String,
    /// Environment name.
    pub environment: String,
}

impl PromqlQuery {
    /// The name, or the query itself when it has none.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.text)
    }

    /// The query with every variable replaced by its value for this run.
    pub fn render(&self, vars: &QueryVariables) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = variable_len(after);
            let value = match &after[..len] {
                "__range" => Some(format!("{}s", vars.range_s)),
                "__range_s" => Some(vars.range_s.to_string()),
                "system" => Some(vars.system.clone()),
                "release" => Some(vars.release.clone()),
                "stage" => Some(vars.stage.clone()),
                "environment" => Some(vars.environment.clone()),
                _ => None,
            };
            match value {
                Some(v) => out.push_str(&v),
                // Validation refuses unknown variables; a `$` that is no variable stays.
                None => out.push_str(&rest[at..at + 1 + len]),
            }
            rest = &after[len..];
        }
        out.push_str(rest);
        out
    }
}

/// Names after `$` in `text` that are not [`VARIABLES`].
pub fn unknown_variables(text: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let len = variable_len(after);
        let name = &after[..len];
        if !VARIABLES.contains(&name) {
            unknown.push(name.to_string());
        }
        rest = &after[len..];
    }
    unknown
}

/// Length of the identifier at the start of `text`.
fn variable_len(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> QueryVariables {
        QueryVariables {
            range_s: 37,
            system: "dichvucong".into(),
            release: "1.0.0".into(),
            stage: "trial-test".into(),
            environment: "test".into(),
        }
    }

    #[test]
    fn renders_the_window_and_the_labels() {
        let q = PromqlQuery {
            text: "sum(rate(x{system=\"$system\",env=\"$environment\"}[$__range])) / $__range_s"
                .into(),
            name: None,
        };
        assert_eq!(
            q.render(&vars()),
            "sum(rate(x{system=\"dichvucong\",env=\"test\"}[37s])) / 37"
        );
        assert!(unknown_variables(&q.text).is_empty());
    }

    #[test]
    fn names_unknown_variables() {
        assert_eq!(
            unknown_variables("rate(x[$__interval]) + $system + $"),
            vec!["__interval".to_string(), String::new()]
        );
    }
}
