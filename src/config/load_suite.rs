//! Takes the text of a `kind = "load"` suite, gives a [`LoadSuite`]: weighted
//! transactions of HTTP steps (the shared [`RequestSpec`] plus checks, extraction and a
//! latency budget), fed by CSV feeders read from inside the project. Every template
//! variable, weight and path is checked here, at the span of the offending text.

use super::diagnostic::{Diagnostics, SourceFile};
use super::matcher::Matcher;
use super::placeholders;
use super::suite::{OffBaseRequest, Suite, SuiteBody};
use crate::http_model::{Extraction, HttpMethod, JsonTemplate, RequestBody, RequestSpec};
use crate::template::Template;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// The largest weight of a transaction: goose builds a list with one entry per unit
/// of weight for every user, so a weight of 4e9 aborted the run; a thousand already
/// expresses any mix to 0.1%.
pub const MAX_WEIGHT: usize = 1000;

/// A load suite.
#[derive(Debug, Clone)]
pub struct LoadSuite {
    /// Pause between transactions of one virtual user.
    pub think_time: Option<Duration>,
    /// CSV data sources.
    pub feeders: Vec<Feeder>,
    /// Weighted transactions.
    pub transactions: Vec<TransactionSpec>,
}

/// How virtual users take rows from a feeder.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FeederMode {
    /// Rows in turn across all users, wrapping around.
    #[default]
    RoundRobin,
    /// Each row at most once; a user that finds none left stops iterating.
    Unique,
}

/// A CSV file of test data, read and checked at validation.
#[derive(Debug, Clone)]
pub struct Feeder {
    /// Name used in templates: `{{name.column}}`.
    pub name: String,
    /// Row order policy.
    pub mode: FeederMode,
    /// The CSV file, relative to the project root; it is in the files as run.
    pub file: std::path::PathBuf,
    /// Column names from the header row.
    pub columns: Vec<String>,
    /// The data rows.
    pub rows: Vec<Vec<String>>,
}

/// A named, weighted sequence of steps.
#[derive(Debug, Clone)]
pub struct TransactionSpec {
    /// Name, used in metrics and reports.
    pub name: String,
    /// Relative weight among the suite's transactions, 1 to [`MAX_WEIGHT`].
    pub weight: usize,
    /// Steps run in order by one virtual user.
    pub steps: Vec<StepSpec>,
}

/// One HTTP request of a transaction.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// Name shown in reports.
    pub name: String,
    /// What is sent.
    pub request: RequestSpec,
    /// Conditions the response must meet; a miss is a check failure.
    pub checks: Vec<Matcher>,
    /// Values taken from the response for later steps.
    pub extract: Vec<Extraction>,
    /// A response slower than this is a failed check.
    pub latency_budget: Option<Duration>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLoadSuite {
    #[schemars(with = "u32")]
    version: Spanned<u32>,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    tags: Vec<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    production_write_reason: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    think_time: Option<Spanned<String>>,
    #[serde(default)]
    feeders: Vec<RawFeeder>,
    #[schemars(with = "Vec<RawTransaction>")]
    transactions: Spanned<Vec<RawTransaction>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFeeder {
    #[schemars(with = "String")]
    name: Spanned<String>,
    #[schemars(with = "String")]
    file: Spanned<String>,
    #[serde(default)]
    mode: FeederMode,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTransaction {
    #[schemars(with = "String")]
    name: Spanned<String>,
    #[schemars(with = "Option<i64>")]
    weight: Option<Spanned<i64>>,
    #[schemars(with = "Vec<RawStep>")]
    steps: Spanned<Vec<RawStep>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStep {
    name: Option<String>,
    method: HttpMethod,
    #[schemars(with = "String")]
    path: Spanned<String>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    headers: BTreeMap<String, Spanned<String>>,
    #[schemars(with = "Option<serde_json::Value>")]
    json: Option<Spanned<toml::Value>>,
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    form: Option<BTreeMap<String, Spanned<String>>>,
    #[schemars(with = "Option<Vec<Matcher>>")]
    checks: Option<Spanned<Vec<Matcher>>>,
    #[schemars(with = "Option<Vec<Extraction>>")]
    extract: Option<Spanned<Vec<Extraction>>>,
    #[schemars(with = "Option<String>")]
    latency_budget: Option<Spanned<String>>,
}

const NO_VARIABLES: &str =
    "no placeholders: this step has no feeder columns or extracted values yet";

fn json_template(
    value: &toml::Value,
    templates: &mut Vec<Template>,
) -> Result<JsonTemplate, String> {
    Ok(match value {
        toml::Value::String(s) => {
            let t = Template::parse(s).map_err(|e| e.to_string())?;
            templates.push(t.clone());
            JsonTemplate::Text(t)
        }
        toml::Value::Integer(i) => JsonTemplate::Scalar((*i).into()),
        toml::Value::Float(f) => JsonTemplate::Scalar(serde_json::Value::from(*f)),
        toml::Value::Boolean(b) => JsonTemplate::Scalar((*b).into()),
        toml::Value::Datetime(d) => JsonTemplate::Scalar(d.to_string().into()),
        toml::Value::Array(items) => JsonTemplate::Array(
            items
                .iter()
                .map(|v| json_template(v, templates))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(table) => JsonTemplate::Object(
            table
                .iter()
                .map(|(k, v)| Ok((k.clone(), json_template(v, templates)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// The JSON Schema of a load suite, from the types it is parsed with (see
/// [`crate::config::schema`]).
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(RawLoadSuite)
}
/// Parses and validates a load suite; `dir` is the system's folder (feeder paths are
/// relative to it) and `root` the project folder every feeder must be inside.
pub(super) fn parse(
    file: &SourceFile,
    name: &str,
    dir: &Path,
    root: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<Suite> {
    let raw: RawLoadSuite = file.parse_toml(diagnostics)?;
    let before = diagnostics.0.len();
    super::check_version(file, &raw.version, diagnostics);
    let (tags, production_write) = super::suite::check_tags(
        file,
        &raw.tags,
        raw.production_write_reason.as_ref(),
        diagnostics,
    );
    let think_time = raw
        .think_time
        .as_ref()
        .and_then(|t| super::units::duration_field(file, t, "500ms", diagnostics));

    let mut feeders = Vec::new();
    let mut known = BTreeSet::new();
    for raw_feeder in &raw.feeders {
        match super::feeder::read(root, dir, raw_feeder.file.get_ref()) {
            Ok(read) => {
                for column in &read.columns {
                    known.insert(format!("{}.{}", raw_feeder.name.get_ref(), column));
                }
                feeders.push(Feeder {
                    name: raw_feeder.name.get_ref().clone(),
                    mode: raw_feeder.mode,
                    file: read.path,
                    columns: read.columns,
                    rows: read.rows,
                });
            }
            Err(e) => diagnostics.push(file.diagnostic(
                raw_feeder.file.span(),
                format!("cannot use feeder file `{}`: {e}", raw_feeder.file.get_ref()),
                Some("a UTF-8 CSV file with a header row and at least one data row, relative to the suite's folder and inside the project".into()),
            )),
        }
    }

    if raw.transactions.get_ref().is_empty() {
        diagnostics.push(file.diagnostic(
            raw.transactions.span(),
            "a load suite needs at least one transaction",
            Some("one or more `[[transactions]]` tables".into()),
        ));
    }
    let mut off_base = Vec::new();
    let mut transactions = Vec::new();
    let mut transaction_names = BTreeSet::new();
    for raw_tx in raw.transactions.get_ref() {
        if !transaction_names.insert(raw_tx.name.get_ref().clone()) {
            diagnostics.push(file.diagnostic(
                raw_tx.name.span(),
                format!("transaction `{}` is defined twice", raw_tx.name.get_ref()),
                Some("a unique name".into()),
            ));
        }
        let weight = match &raw_tx.weight {
            None => 1,
            Some(w) => match usize::try_from(*w.get_ref()) {
                Ok(n) if (1..=MAX_WEIGHT).contains(&n) => n,
                _ => {
                    diagnostics.push(file.diagnostic(
                        w.span(),
                        format!("weight {} is out of range", w.get_ref()),
                        Some(format!("a whole number from 1 to {MAX_WEIGHT}")),
                    ));
                    1
                }
            },
        };
        if raw_tx.steps.get_ref().is_empty() {
            diagnostics.push(file.diagnostic(
                raw_tx.steps.span(),
                "a transaction needs at least one step",
                Some("one or more `[[transactions.steps]]`".into()),
            ));
        }
        // Each virtual user carries its extracted values from step to step, so a step may
        // use what any earlier step of the same transaction extracted; what only a later
        // step extracts does not exist yet, and is named as such.
        let mut vars = known.clone();
        let raw_steps = raw_tx.steps.get_ref();
        let mut steps = Vec::new();
        for (i, raw_step) in raw_steps.iter().enumerate() {
            // Variables extracted after this step, each by the first step that does.
            let mut later = BTreeMap::new();
            for (j, after) in raw_steps.iter().enumerate().skip(i + 1).rev() {
                for e in after.extract.iter().flat_map(|e| e.get_ref()) {
                    later.insert(
                        e.variable().to_string(),
                        format!("`{}` (step {})", step_name(after, j), j + 1),
                    );
                }
            }
            if let Some(step) = parse_step(
                file,
                raw_step,
                i,
                &mut vars,
                &later,
                &mut off_base,
                diagnostics,
            ) {
                steps.push(step);
            }
        }
        transactions.push(TransactionSpec {
            name: raw_tx.name.get_ref().clone(),
            weight,
            steps,
        });
    }
    if diagnostics.0.len() > before {
        return None;
    }
    Some(Suite {
        name: name.to_string(),
        description: raw.description,
        tags,
        production_write,
        off_base,
        body: SuiteBody::Load(LoadSuite {
            think_time,
            feeders,
            transactions,
        }),
    })
}

/// A step's name as reports show it.
fn step_name(raw_step: &RawStep, index: usize) -> String {
    raw_step
        .name
        .clone()
        .unwrap_or_else(|| format!("step-{}", index + 1))
}

fn parse_step(
    file: &SourceFile,
    raw_step: &RawStep,
    index: usize,
    vars: &mut BTreeSet<String>,
    later: &BTreeMap<String, String>,
    off_base: &mut Vec<OffBaseRequest>,
    diagnostics: &mut Diagnostics,
) -> Option<StepSpec> {
    if raw_step.method == HttpMethod::Options {
        // goose has no OPTIONS request; sending a GET instead would measure the wrong thing.
        diagnostics.push(file.diagnostic(
            raw_step.path.span(),
            "load steps cannot use OPTIONS",
            Some("GET, HEAD, POST, PUT, PATCH or DELETE".into()),
        ));
    }
    let scope = placeholders::Scope {
        known: vars,
        later,
        none_known: NO_VARIABLES,
    };
    let path = placeholders::template(file, &raw_step.path, &scope, diagnostics);
    let path_ok = placeholders::check_path(file, &raw_step.path, off_base, diagnostics);
    let headers: Vec<(String, Template)> = raw_step
        .headers
        .iter()
        .filter_map(|(k, v)| {
            placeholders::template(file, v, &scope, diagnostics).map(|t| (k.clone(), t))
        })
        .collect();
    let body = match (&raw_step.json, &raw_step.form) {
        (Some(json), Some(_)) => {
            diagnostics.push(file.diagnostic(
                json.span(),
                "a step has one body: `json` or `form`, not both",
                None,
            ));
            RequestBody::None
        }
        (Some(json), None) => {
            let mut templates = Vec::new();
            match json_template(json.get_ref(), &mut templates) {
                Ok(body) => {
                    for t in &templates {
                        placeholders::check_variables(file, json.span(), t, &scope, diagnostics);
                    }
                    RequestBody::Json(body)
                }
                Err(e) => {
                    diagnostics.push(file.diagnostic(
                        json.span(),
                        format!("bad template: {e}"),
                        None,
                    ));
                    RequestBody::None
                }
            }
        }
        (None, Some(form)) => RequestBody::Form(
            form.iter()
                .filter_map(|(k, v)| {
                    placeholders::template(file, v, &scope, diagnostics).map(|t| (k.clone(), t))
                })
                .collect(),
        ),
        (None, None) => RequestBody::None,
    };
    let latency_budget = raw_step
        .latency_budget
        .as_ref()
        .and_then(|b| super::units::duration_field(file, b, "200ms", diagnostics));
    let checks = raw_step
        .checks
        .as_ref()
        .map(|c| (c.span(), c.get_ref().clone()))
        .unwrap_or_default();
    placeholders::refuse_in_literal_text(
        file,
        checks.0.clone(),
        "a check",
        checks.1.iter().flat_map(Matcher::literal_texts),
        diagnostics,
    );
    let extract = raw_step
        .extract
        .as_ref()
        .map(|e| (e.span(), e.get_ref().clone()))
        .unwrap_or_default();
    placeholders::refuse_in_literal_text(
        file,
        extract.0.clone(),
        "an extraction",
        extract.1.iter().flat_map(Extraction::literal_texts),
        diagnostics,
    );
    placeholders::refuse_in_literal_text(
        file,
        raw_step.path.span().start..file.text.len(),
        "a header name",
        raw_step.headers.keys().map(String::as_str),
        diagnostics,
    );
    for extraction in &extract.1 {
        vars.insert(extraction.variable().to_string());
    }
    let path = path.filter(|_| path_ok)?;
    Some(StepSpec {
        name: step_name(raw_step, index),
        request: RequestSpec {
            method: raw_step.method,
            path,
            headers,
            body,
        },
        checks: checks.1,
        extract: extract.1,
        latency_budget,
    })
}
