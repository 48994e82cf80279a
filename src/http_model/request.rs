//! Gives [`RequestSpec`], the one request model of load steps, probes and probe setup
//! steps (method, templated path, headers and body), and renders it into a
//! [`RenderedRequest`] with the variables of the moment.

use super::method::HttpMethod;
use crate::template::Template;

/// One templated HTTP request, as a file describes it.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// Method.
    pub method: HttpMethod,
    /// A path below the environment's base URL (`/api/x`), or a full URL on an origin
    /// the environment lists; validation has checked which.
    pub path: Template,
    /// Extra headers.
    pub headers: Vec<(String, Template)>,
    /// Request body.
    pub body: RequestBody,
}

/// A request body.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// No body.
    None,
    /// A JSON document whose strings may hold templates.
    Json(JsonTemplate),
    /// An urlencoded form.
    Form(Vec<(String, Template)>),
    /// Raw text, sent as is.
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

    fn templates<'t>(&'t self, out: &mut Vec<&'t Template>) {
        match self {
            JsonTemplate::Text(t) => out.push(t),
            JsonTemplate::Scalar(_) => {}
            JsonTemplate::Array(items) => items.iter().for_each(|i| i.templates(out)),
            JsonTemplate::Object(fields) => fields.iter().for_each(|(_, v)| v.templates(out)),
        }
    }
}

/// A request with its placeholders filled in.
#[derive(Debug, Clone)]
pub struct RenderedRequest {
    /// Method.
    pub method: HttpMethod,
    /// Path (or full URL), not yet resolved against the base URL.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: RenderedBody,
}

/// A body with its placeholders filled in.
#[derive(Debug, Clone)]
pub enum RenderedBody {
    /// No body.
    None,
    /// JSON.
    Json(serde_json::Value),
    /// An urlencoded form.
    Form(Vec<(String, String)>),
    /// Raw text.
    Text(String),
}

impl RenderedBody {
    /// The body as the text that goes on the wire, with its content type.
    pub fn to_text(&self) -> Option<(String, &'static str)> {
        match self {
            RenderedBody::None => None,
            RenderedBody::Json(v) => Some((v.to_string(), "application/json")),
            RenderedBody::Form(pairs) => Some((
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish(),
                "application/x-www-form-urlencoded",
            )),
            RenderedBody::Text(t) => Some((t.clone(), "text/plain; charset=utf-8")),
        }
    }
}

impl RequestSpec {
    /// A request with a literal path and nothing else.
    pub fn get(path: &str) -> RequestSpec {
        RequestSpec {
            method: HttpMethod::Get,
            path: Template::literal(path),
            headers: Vec::new(),
            body: RequestBody::None,
        }
    }

    /// Every template of the request: path, header values, body.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = vec![&self.path];
        out.extend(self.headers.iter().map(|(_, t)| t));
        match &self.body {
            RequestBody::None => {}
            RequestBody::Json(json) => json.templates(&mut out),
            RequestBody::Form(fields) => out.extend(fields.iter().map(|(_, t)| t)),
            RequestBody::Text(t) => out.push(t),
        }
        out
    }

    /// Whether any template uses the variable `name`.
    pub fn uses(&self, name: &str) -> bool {
        self.templates()
            .iter()
            .any(|t| t.variables().any(|v| v == name))
    }

    /// Fills every placeholder with `lookup`.
    pub fn render<'a>(&self, lookup: &impl Fn(&str) -> Option<&'a str>) -> RenderedRequest {
        RenderedRequest {
            method: self.method,
            path: self.path.render(lookup),
            headers: self
                .headers
                .iter()
                .map(|(k, t)| (k.clone(), t.render(lookup)))
                .collect(),
            body: match &self.body {
                RequestBody::None => RenderedBody::None,
                RequestBody::Json(json) => RenderedBody::Json(json.render(lookup)),
                RequestBody::Form(fields) => RenderedBody::Form(
                    fields
                        .iter()
                        .map(|(k, t)| (k.clone(), t.render(lookup)))
                        .collect(),
                ),
                RequestBody::Text(t) => RenderedBody::Text(t.render(lookup)),
            },
        }
    }
}
