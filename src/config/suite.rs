//! Takes `scenarios/<system>/<suite>.toml`, gives a [`Suite`]: a load suite (virtual
//! users' transactions of HTTP steps, fed by CSV data) or a security suite (built-in
//! checks by id and declarative probes). Templates, feeders and check ids are all
//! resolved here, so nothing later can fail on a name.

use super::diagnostic::{Diagnostics, SourceFile};
use super::matcher::Matcher;
pub use super::security_suite::{Probe, SecuritySuite};
use crate::template::Template;
/// Kept here too: suites and the catalogue name severities by this path.
pub use crate::vocab::Severity;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;

/// One validated suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The file name without `.toml`.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Tags such as `production-safe`, `intrusive`, `destructive`.
    pub tags: BTreeSet<String>,
    /// Load or security content.
    pub body: SuiteBody,
}

/// The two kinds of suite.
#[derive(Debug, Clone)]
pub enum SuiteBody {
    /// Virtual users driving transactions.
    Load(LoadSuite),
    /// Security checks and probes.
    Security(SecuritySuite),
}

impl Suite {
    /// `load` or `security`.
    pub fn kind(&self) -> &'static str {
        match self.body {
            SuiteBody::Load(_) => "load",
            SuiteBody::Security(_) => "security",
        }
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
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
    /// Relative weight among the suite's transactions.
    pub weight: usize,
    /// Steps run in order by one virtual user.
    pub steps: Vec<StepSpec>,
}

/// HTTP methods a step may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// GET
    Get,
    /// HEAD
    Head,
    /// OPTIONS
    Options,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// GET, HEAD and OPTIONS change nothing on the server.
    pub fn is_safe(self) -> bool {
        matches!(
            self,
            HttpMethod::Get | HttpMethod::Head | HttpMethod::Options
        )
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One HTTP request of a transaction.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// Name shown in reports.
    pub name: String,
    /// Method.
    pub method: HttpMethod,
    /// Path and query below the base URL.
    pub path: Template,
    /// Extra headers.
    pub headers: Vec<(String, Template)>,
    /// Request body.
    pub body: StepBody,
    /// Conditions the response must meet; a miss is a check failure.
    pub checks: Vec<Matcher>,
    /// Values taken from the response for later steps.
    pub extract: Vec<Extraction>,
    /// A response slower than this is a failed check.
    pub latency_budget: Option<Duration>,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum StepBody {
    /// No body.
    None,
    /// A JSON document whose strings may hold templates.
    Json(JsonTemplate),
    /// An urlencoded form.
    Form(Vec<(String, Template)>),
    /// Raw text, sent as is (ad-hoc runs).
    Text(Template),
}

/// A JSON value whose strings are templates.
#[derive(Debug, Clone)]
pub enum JsonTemplate {
    /// A string with placeholders.
    Text(Template),
    /// Any other scalar, sent as is.
    Scalar(serde_json::Value),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object.
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    fn from_toml(
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
                    .map(|v| JsonTemplate::from_toml(v, templates))
                    .collect::<Result<_, _>>()?,
            ),
            toml::Value::Table(table) => JsonTemplate::Object(
                table
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), JsonTemplate::from_toml(v, templates)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Renders into JSON with `lookup` for variables.
    pub fn render<'a>(&self, lookup: &impl Fn(&str) -> Option<&'a str>) -> serde_json::Value {
        match self {
            JsonTemplate::Text(t) => serde_json::Value::String(t.render(lookup)),
            JsonTemplate::Scalar(v) => v.clone(),
            JsonTemplate::Array(items) => {
                serde_json::Value::Array(items.iter().map(|i| i.render(lookup)).collect())
            }
            JsonTemplate::Object(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.render(lookup)))
                    .collect(),
            ),
        }
    }
}

/// Takes a value from a response into a variable.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Extraction {
    /// A JSON pointer in the body.
    JsonPath {
        /// RFC 6901 pointer.
        path: String,
        /// Variable name.
        into: String,
    },
    /// A response header.
    Header {
        /// Header name.
        name: String,
        /// Variable name.
        into: String,
    },
    /// A regular expression over the body: the first capture group, or the whole match.
    Regex {
        /// The pattern, compiled once when the file is read.
        pattern: RegexPattern,
        /// Variable name.
        into: String,
    },
}

/// A regular expression compiled when the suite is read, so a bad pattern is a file
/// error and the hot path never compiles one.
#[derive(Debug, Clone)]
pub struct RegexPattern(pub regex::Regex);

impl PartialEq for RegexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl<'de> Deserialize<'de> for RegexPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        regex::Regex::new(&text)
            .map(RegexPattern)
            .map_err(|e| serde::de::Error::custom(format!("bad regular expression: {e}")))
    }
}

impl Serialize for RegexPattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}

impl Extraction {
    /// The variable this extraction sets.
    pub fn variable(&self) -> &str {
        match self {
            Extraction::JsonPath { into, .. }
            | Extraction::Header { into, .. }
            | Extraction::Regex { into, .. } => into,
        }
    }
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawLoadSuite {
    version: Spanned<u32>,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    think_time: Option<Spanned<String>>,
    #[serde(default)]
    feeders: Vec<RawFeeder>,
    transactions: Spanned<Vec<RawTransaction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawFeeder {
    name: Spanned<String>,
    file: Spanned<String>,
    #[serde(default)]
    mode: FeederMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTransaction {
    name: Spanned<String>,
    weight: Option<Spanned<usize>>,
    steps: Spanned<Vec<RawStep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawStep {
    name: Option<String>,
    method: HttpMethod,
    path: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    json: Option<Spanned<toml::Value>>,
    form: Option<BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    checks: Vec<Matcher>,
    #[serde(default)]
    extract: Vec<Extraction>,
    latency_budget: Option<Spanned<String>>,
}

const KNOWN_TAGS: [&str; 4] = ["production-safe", "intrusive", "destructive", "smoke"];

/// Parses and validates one suite file; `dir` is the system's folder, for feeder paths.
pub fn parse(
    file: &SourceFile,
    name: &str,
    dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<Suite> {
    let kind: KindOnly = file.parse_toml(diagnostics)?;
    match kind.kind.as_ref().map(|k| k.get_ref().as_str()) {
        Some("load") => parse_load(file, name, dir, diagnostics),
        Some("security") => super::security_suite::parse(file, name, diagnostics),
        Some(other) => {
            let span = kind.kind.as_ref().map_or(0..0, |k| k.span());
            diagnostics.push(file.diagnostic(
                span,
                format!("unknown suite kind `{other}`"),
                Some("`load` or `security`".into()),
            ));
            None
        }
        None => {
            diagnostics.push(file.whole_file(
                "a suite must say what it is: `kind` is missing",
                Some("`kind = \"load\"` or `kind = \"security\"`".into()),
            ));
            None
        }
    }
}

pub(super) fn check_tags(
    file: &SourceFile,
    tags: &[Spanned<String>],
    diagnostics: &mut Diagnostics,
) -> BTreeSet<String> {
    for tag in tags {
        if !KNOWN_TAGS.contains(&tag.get_ref().as_str()) {
            diagnostics.push(file.diagnostic(
                tag.span(),
                format!("unknown tag `{}`", tag.get_ref()),
                Some(format!(
                    "one of {}",
                    KNOWN_TAGS.map(|t| format!("`{t}`")).join(", ")
                )),
            ));
        }
    }
    tags.iter().map(|t| t.get_ref().clone()).collect()
}

fn parse_template(
    file: &SourceFile,
    text: &Spanned<String>,
    known: &BTreeSet<String>,
    diagnostics: &mut Diagnostics,
) -> Option<Template> {
    match Template::parse(text.get_ref()) {
        Ok(t) => {
            check_variables(file, text.span(), &t, known, diagnostics);
            Some(t)
        }
        Err(e) => {
            diagnostics.push(file.diagnostic(
                text.span(),
                format!("bad template: {e}"),
                Some("text with `{{name}}` placeholders".into()),
            ));
            None
        }
    }
}

fn check_variables(
    file: &SourceFile,
    span: std::ops::Range<usize>,
    template: &Template,
    known: &BTreeSet<String>,
    diagnostics: &mut Diagnostics,
) {
    for var in template.variables() {
        if !known.contains(var) {
            let mut names: Vec<&str> = known.iter().map(String::as_str).collect();
            names.truncate(12);
            diagnostics.push(file.diagnostic(
                span.clone(),
                format!("unknown variable `{var}`"),
                Some(if names.is_empty() {
                    "no placeholders: this step has no feeder columns or extracted values yet"
                        .into()
                } else {
                    format!(
                        "one of {}",
                        names
                            .iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            ));
        }
    }
}

fn parse_load(
    file: &SourceFile,
    name: &str,
    dir: &Path,
    diagnostics: &mut Diagnostics,
) -> Option<Suite> {
    let raw: RawLoadSuite = file.parse_toml(diagnostics)?;
    let before = diagnostics.0.len();
    super::check_version(file, &raw.version, diagnostics);
    let tags = check_tags(file, &raw.tags, diagnostics);
    let think_time =
        raw.think_time
            .as_ref()
            .and_then(|t| match super::units::parse_duration(t.get_ref()) {
                Ok(d) => Some(d),
                Err(e) => {
                    diagnostics.push(file.diagnostic(
                        t.span(),
                        format!("bad duration: {e}"),
                        Some("a duration such as `500ms`".into()),
                    ));
                    None
                }
            });

    let mut feeders = Vec::new();
    let mut known = BTreeSet::new();
    for raw_feeder in &raw.feeders {
        let path = dir.join(raw_feeder.file.get_ref());
        match read_feeder(&path) {
            Ok((columns, rows)) => {
                for column in &columns {
                    known.insert(format!("{}.{}", raw_feeder.name.get_ref(), column));
                }
                feeders.push(Feeder {
                    name: raw_feeder.name.get_ref().clone(),
                    mode: raw_feeder.mode,
                    columns,
                    rows,
                });
            }
            Err(e) => diagnostics.push(file.diagnostic(
                raw_feeder.file.span(),
                format!("cannot use feeder file `{}`: {e}", raw_feeder.file.get_ref()),
                Some("a UTF-8 CSV file with a header row and at least one data row, relative to the suite's folder".into()),
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
        if let Some(weight) = raw_tx.weight.as_ref().filter(|w| *w.get_ref() == 0) {
            diagnostics.push(file.diagnostic(
                weight.span(),
                "a weight of 0 would never run",
                Some("a whole number of 1 or more".into()),
            ));
        }
        if raw_tx.steps.get_ref().is_empty() {
            diagnostics.push(file.diagnostic(
                raw_tx.steps.span(),
                "a transaction needs at least one step",
                Some("one or more `[[transactions.steps]]`".into()),
            ));
        }
        // Each virtual user carries its extracted values from step to step, so a step may
        // use what any earlier step of the same transaction extracted.
        let mut vars = known.clone();
        let mut steps = Vec::new();
        for (i, raw_step) in raw_tx.steps.get_ref().iter().enumerate() {
            if raw_step.method == HttpMethod::Options {
                // goose has no OPTIONS request; sending a GET instead would measure the wrong thing.
                diagnostics.push(file.diagnostic(
                    raw_step.path.span(),
                    "load steps cannot use OPTIONS",
                    Some("GET, HEAD, POST, PUT, PATCH or DELETE".into()),
                ));
            }
            let path = parse_template(file, &raw_step.path, &vars, diagnostics);
            if let Some(p) = &path {
                if !p.to_string().starts_with('/') {
                    diagnostics.push(
                        file.diagnostic(
                            raw_step.path.span(),
                            "a step path must start with `/`",
                            Some(
                                "a path below the environment's base URL, such as `/api/thu-tuc`"
                                    .into(),
                            ),
                        ),
                    );
                }
            }
            let headers: Vec<(String, Template)> = raw_step
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    parse_template(file, v, &vars, diagnostics).map(|t| (k.clone(), t))
                })
                .collect();
            let body = match (&raw_step.json, &raw_step.form) {
                (Some(_), Some(_)) => {
                    let span = raw_step.json.as_ref().map_or(0..0, |j| j.span());
                    diagnostics.push(file.diagnostic(
                        span,
                        "a step has one body: `json` or `form`, not both",
                        None,
                    ));
                    StepBody::None
                }
                (Some(json), None) => {
                    let mut templates = Vec::new();
                    match JsonTemplate::from_toml(json.get_ref(), &mut templates) {
                        Ok(body) => {
                            for t in &templates {
                                check_variables(file, json.span(), t, &vars, diagnostics);
                            }
                            StepBody::Json(body)
                        }
                        Err(e) => {
                            diagnostics.push(file.diagnostic(
                                json.span(),
                                format!("bad template: {e}"),
                                None,
                            ));
                            StepBody::None
                        }
                    }
                }
                (None, Some(form)) => StepBody::Form(
                    form.iter()
                        .filter_map(|(k, v)| {
                            parse_template(file, v, &vars, diagnostics).map(|t| (k.clone(), t))
                        })
                        .collect(),
                ),
                (None, None) => StepBody::None,
            };
            let latency_budget = raw_step.latency_budget.as_ref().and_then(|b| {
                match super::units::parse_duration(b.get_ref()) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        diagnostics.push(file.diagnostic(
                            b.span(),
                            format!("bad duration `{}`: {e}", b.get_ref()),
                            Some("a duration such as `200ms`".into()),
                        ));
                        None
                    }
                }
            });
            for extraction in &raw_step.extract {
                vars.insert(extraction.variable().to_string());
            }
            if let Some(path) = path {
                steps.push(StepSpec {
                    name: raw_step
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("step-{}", i + 1)),
                    method: raw_step.method,
                    path,
                    headers,
                    body,
                    checks: raw_step.checks.clone(),
                    extract: raw_step.extract.clone(),
                    latency_budget,
                });
            }
        }
        transactions.push(TransactionSpec {
            name: raw_tx.name.get_ref().clone(),
            weight: raw_tx.weight.as_ref().map_or(1, |w| *w.get_ref()),
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
        body: SuiteBody::Load(LoadSuite {
            think_time,
            feeders,
            transactions,
        }),
    })
}

/// Reads a CSV feeder: header row plus data rows, UTF-8 checked.
fn read_feeder(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string().to_lowercase())?;
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8 ({e})"))?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err("it has no data rows".into());
    }
    Ok((columns, rows))
}
