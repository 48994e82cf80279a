//! Takes the `[provision]` block of an environment file, gives a [`ProvisionSpec`]:
//! which locally built container image to start for a stage, the port it serves, its
//! environment variables, how to tell it is ready and how long to wait for that.

use super::diagnostic::{Diagnostics, SourceFile};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use toml::Spanned;

/// How long a container may take to become ready when the file does not say: long
/// enough for a small server to start on a busy two-core CI machine, short enough that a
/// container that never gets ready fails the command in well under a minute.
pub const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How an environment starts itself in a container for a stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvisionSpec {
    /// The image, which must already exist on the engine (nothing is pulled).
    pub image: ImageRef,
    /// The port the system serves inside the container.
    pub port: u16,
    /// Environment variables given to the container.
    pub env: BTreeMap<String, String>,
    /// Arguments given to the image's entrypoint instead of its default command.
    pub command: Option<Vec<String>>,
    /// How to tell the system is ready.
    pub ready: Readiness,
    /// How long starting may take, readiness included.
    #[serde(with = "humantime_serde_compat")]
    pub start_timeout: Duration,
}

/// An image reference `name:tag` (the tag defaults to `latest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageRef {
    /// Repository name, e.g. `stagegate-sample`.
    pub name: String,
    /// Tag, e.g. `dev`.
    pub tag: String,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, self.tag)
    }
}

impl ImageRef {
    /// Parses `name[:tag]`; a registry host with a port (`host:5000/name`) is allowed.
    pub fn parse(text: &str) -> Option<ImageRef> {
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c == '@') {
            return None;
        }
        let last_slash = text.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match text[last_slash..].rfind(':') {
            Some(i) => (&text[..last_slash + i], &text[last_slash + i + 1..]),
            None => (text, "latest"),
        };
        if name.is_empty() || name.ends_with('/') || tag.is_empty() {
            return None;
        }
        Some(ImageRef {
            name: name.to_string(),
            tag: tag.to_string(),
        })
    }
}

/// How a started container shows it is ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    /// A `GET` of this path on the served port answers 2xx.
    Http(String),
    /// This text appears in the container's standard output.
    Log(String),
}

mod humantime_serde_compat {
    use serde::Serializer;
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawProvision {
    #[schemars(with = "String")]
    image: Spanned<String>,
    #[schemars(with = "i64")]
    port: Spanned<i64>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    env: BTreeMap<Spanned<String>, String>,
    #[schemars(with = "Option<Vec<String>>")]
    command: Option<Spanned<Vec<String>>>,
    #[schemars(with = "RawReady")]
    ready: Spanned<RawReady>,
    #[schemars(with = "Option<String>")]
    start_timeout: Option<Spanned<String>>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawReady {
    #[schemars(with = "Option<String>")]
    http: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    log: Option<Spanned<String>>,
}

/// Validates a `[provision]` block; mistakes go to `diagnostics`.
pub(super) fn parse(
    file: &SourceFile,
    raw: RawProvision,
    diagnostics: &mut Diagnostics,
) -> Option<ProvisionSpec> {
    let before = diagnostics.0.len();
    let image = ImageRef::parse(raw.image.get_ref());
    if image.is_none() {
        diagnostics.push(file.diagnostic(
            raw.image.span(),
            format!("`{}` is not an image reference", raw.image.get_ref()),
            Some("an image built on this machine, such as `stagegate-sample:dev`".into()),
        ));
    }
    let port = u16::try_from(*raw.port.get_ref()).ok().filter(|p| *p > 0);
    if port.is_none() {
        diagnostics.push(file.diagnostic(
            raw.port.span(),
            "`port` must be a TCP port",
            Some("a whole number from 1 to 65535, such as `8080`".into()),
        ));
    }
    for name in raw.env.keys() {
        let valid = name
            .get_ref()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            diagnostics.push(file.diagnostic(
                name.span(),
                format!("`{}` is not an environment variable name", name.get_ref()),
                Some("letters, digits and `_`, such as `STAGEGATE_SAMPLE_LATENCY_MS`".into()),
            ));
        }
    }
    if let Some(command) = &raw.command {
        if command.get_ref().is_empty() {
            diagnostics.push(file.diagnostic(command.span(), "`command` is empty", Some("the arguments for the image's entrypoint, or no `command` to keep the image's own".into())));
        }
    }
    let ready = match (&raw.ready.get_ref().http, &raw.ready.get_ref().log) {
        (Some(path), None) if path.get_ref().starts_with('/') => {
            Some(Readiness::Http(path.get_ref().clone()))
        }
        (Some(path), None) => {
            diagnostics.push(file.diagnostic(
                path.span(),
                "the readiness path must start with `/`",
                Some("a path such as `/health`".into()),
            ));
            None
        }
        (None, Some(line)) if !line.get_ref().is_empty() => {
            Some(Readiness::Log(line.get_ref().clone()))
        }
        (None, Some(line)) => {
            diagnostics.push(file.diagnostic(
                line.span(),
                "the readiness log text is empty",
                Some("text the system prints when it is ready, such as `listening on`".into()),
            ));
            None
        }
        (Some(_), Some(_)) | (None, None) => {
            diagnostics.push(file.diagnostic(
                raw.ready.span(),
                "`ready` needs exactly one of `http` and `log`",
                Some("`{ http = \"/health\" }` or `{ log = \"listening on\" }`".into()),
            ));
            None
        }
    };
    let start_timeout = match &raw.start_timeout {
        None => Some(DEFAULT_START_TIMEOUT),
        Some(text) => match super::units::duration_field(file, text, "30s", diagnostics) {
            Some(d) if d.is_zero() => {
                diagnostics.push(file.diagnostic(
                    text.span(),
                    "`start-timeout` must be longer than zero",
                    Some("a duration such as `30s`".into()),
                ));
                None
            }
            other => other,
        },
    };
    if diagnostics.0.len() > before {
        return None;
    }
    Some(ProvisionSpec {
        image: image?,
        port: port?,
        env: raw
            .env
            .into_iter()
            .map(|(k, v)| (k.into_inner(), v))
            .collect(),
        command: raw.command.map(Spanned::into_inner),
        ready: ready?,
        start_timeout: start_timeout?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_name_and_tag() {
        let r = ImageRef::parse("stagegate-sample:dev").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("stagegate-sample", "dev")
        );
        let r = ImageRef::parse("localhost:5000/team/portal").unwrap();
        assert_eq!(
            (r.name.as_str(), r.tag.as_str()),
            ("localhost:5000/team/portal", "latest")
        );
        assert_eq!(ImageRef::parse("portal:").map(|r| r.to_string()), None);
        assert_eq!(ImageRef::parse("a b:1"), None);
        assert_eq!(ImageRef::parse("portal@sha256:abc"), None);
    }
}
