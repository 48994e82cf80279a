//! The origin fence. Takes an environment's base URL (and the other origins it lists)
//! and a request's path as written or as rendered, gives the URL the request goes to —
//! or refuses, because a request that leaves its origin would carry the environment's
//! credentials to someone else. Used three times: at `validate` on the text of every
//! path, before each request is sent, and on every redirect.

use std::fmt;
use std::time::Duration;
use url::Url;

/// Redirects followed within the origin before the chain counts as a loop: a login or
/// a trailing-slash redirect takes one or two; ten (reqwest's default) only hides loops.
pub const MAX_REDIRECTS: usize = 5;

/// Scheme, host and port: what decides where a request and its credentials go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of an http(s) URL; `None` for any other scheme or a URL without host.
    pub fn of(url: &Url) -> Option<Origin> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        Some(Origin {
            scheme: url.scheme().to_string(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    /// Parses `http(s)://host[:port]` (a trailing `/` allowed, nothing more).
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
        let origin = Origin::of(&url).ok_or("not an http(s) URL with a host")?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("an origin is scheme, host and port only, without a path".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("an origin carries no user name or password".into());
        }
        Ok(origin)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// How a path is written, judged on its text before any template is filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathForm {
    /// Below the base URL: `/...`.
    BelowBase,
    /// A full URL whose origin is written out literally.
    Absolute(Origin),
}

/// Why a request may not be sent where it would go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    /// The text can leave the origin (`//host`, `/\host`, a templated host, a scheme
    /// other than http(s)).
    #[error("{0}")]
    Written(String),
    /// Rendered or redirected to an origin the environment does not list.
    #[error("`{url}` is on origin `{origin}`, not on the environment's origin `{allowed}`; not sent, so its credentials stay home")]
    Leaves {
        /// Where it would have gone (secrets never appear in a URL we build).
        url: String,
        /// That URL's origin.
        origin: String,
        /// The environment's origin.
        allowed: String,
    },
}

/// Judges the text of a path as a file writes it (`{{` starts a placeholder).
pub fn classify(text: &str) -> Result<PathForm, OriginError> {
    let literal = text.split("{{").next().unwrap_or_default();
    if literal.chars().any(|c| c.is_control() || c.is_whitespace()) {
        // The URL parser drops tabs and newlines, which turns `/\t/host` into `//host`.
        return Err(OriginError::Written(
            "a path may not hold spaces or control characters".into(),
        ));
    }
    if let Some(rest) = literal.strip_prefix('/') {
        if rest.starts_with('/') || rest.starts_with('\\') {
            return Err(OriginError::Written(
                "a path starting with `//` or `/\\` names another host".into(),
            ));
        }
        // A placeholder right after the `/` may still render `/host`: the rendered
        // text is judged again before it is sent.
        return Ok(PathForm::BelowBase);
    }
    let lower = literal.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let after_scheme = &literal[literal.find("://").map_or(0, |i| i + 3)..];
        // The whole authority must be literal: `https://{{host}}` could go anywhere.
        let Some(end) = after_scheme.find(['/', '?', '#']) else {
            if literal.len() == text.len() {
                let origin = Origin::parse(text).map_err(OriginError::Written)?;
                return Ok(PathForm::Absolute(origin));
            }
            return Err(OriginError::Written(
                "the host of a full URL must be written out, not a placeholder".into(),
            ));
        };
        let origin_text = &literal[..literal.len() - after_scheme.len() + end];
        let origin = Origin::parse(origin_text).map_err(OriginError::Written)?;
        return Ok(PathForm::Absolute(origin));
    }
    Err(OriginError::Written(
        "a path starts with `/` (below the environment's base URL) or is a full URL on an origin the environment lists".into(),
    ))
}

/// Where requests of one environment may go: its base URL and the origins it lists.
#[derive(Debug, Clone)]
pub struct Fence {
    /// The base URL, without a trailing `/`.
    base: String,
    home: Origin,
    listed: Vec<Origin>,
}

impl Fence {
    /// A fence around `base` (an http(s) URL) and the `listed` origins.
    pub fn new(base: &str, listed: Vec<Origin>) -> Result<Fence, OriginError> {
        let base = base.trim_end_matches('/').to_string();
        let url = Url::parse(&base)
            .map_err(|e| OriginError::Written(format!("`{base}` is not a URL ({e})")))?;
        let home = Origin::of(&url)
            .ok_or_else(|| OriginError::Written(format!("`{base}` is not an http(s) URL")))?;
        Ok(Fence { base, home, listed })
    }

    /// The environment's own origin.
    pub fn home(&self) -> &Origin {
        &self.home
    }

    /// Whether `origin` is the home origin or a listed one.
    pub fn allows(&self, origin: &Origin) -> bool {
        *origin == self.home || self.listed.contains(origin)
    }

    /// The URL a rendered path goes to, when it stays on an allowed origin. A path
    /// below the base is appended to the base text (never `join`ed: `join` reads
    /// `//host` as another host); the result is parsed and its origin checked again.
    pub fn resolve(&self, rendered: &str) -> Result<Url, OriginError> {
        let text = match classify(rendered)? {
            PathForm::BelowBase => format!("{}{rendered}", self.base),
            PathForm::Absolute(_) => rendered.to_string(),
        };
        let url = Url::parse(&text)
            .map_err(|e| OriginError::Written(format!("`{text}` is not a URL ({e})")))?;
        self.check(&url)?;
        Ok(url)
    }

    /// Refuses a URL on an origin that is neither home nor listed.
    pub fn check(&self, url: &Url) -> Result<(), OriginError> {
        match Origin::of(url) {
            Some(origin) if self.allows(&origin) => Ok(()),
            other => Err(OriginError::Leaves {
                url: url.as_str().to_string(),
                origin: other.map_or_else(|| url.scheme().to_string(), |o| o.to_string()),
                allowed: self.home.to_string(),
            }),
        }
    }
}

/// The error a redirect chain gives when it goes round more than [`MAX_REDIRECTS`].
#[derive(Debug, thiserror::Error)]
#[error("redirect loop: more than {MAX_REDIRECTS} redirects, last to `{0}`")]
pub struct RedirectLoop(pub String);

/// reqwest's redirect policy for a fenced client: a redirect is followed only to the
/// origin of the request that started the chain, at most [`MAX_REDIRECTS`] times; a
/// redirect to another origin is not followed (the 3xx answer comes back, and the
/// caller reports it), so no header — least of all a credential — goes there.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().and_then(Origin::of);
        let next = Origin::of(attempt.url());
        if first.is_none() || first != next {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            let to = attempt.url().to_string();
            attempt.error(RedirectLoop(to))
        } else {
            attempt.follow()
        }
    })
}

/// When a response is a redirect that the fenced policy did not follow (it leads to
/// another origin), the text that reports it.
pub fn unfollowed_redirect(status: u16, from: &Url, location: Option<&str>) -> Option<String> {
    if !(300..400).contains(&status) || status == 304 {
        return None;
    }
    let to = from.join(location?).ok()?;
    let (home, there) = (Origin::of(from)?, Origin::of(&to));
    if there.as_ref() == Some(&home) {
        return None;
    }
    Some(format!(
        "cross-origin redirect (HTTP {status}) from `{home}` to `{}` not followed: the environment's credentials stay on its origin",
        there.map_or_else(|| to.scheme().to_string(), |o| o.to_string())
    ))
}

/// How long the fence lets a connection take to be made: a target that never answers
/// its SYN must not hold a stage (the whole request has its own, longer, timeout).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    fn fence() -> Fence {
        Fence::new(
            "http://127.0.0.1:8080/",
            vec![Origin::parse("https://sso.example.vn").unwrap()],
        )
        .unwrap()
    }

    #[test]
    fn paths_that_name_another_host_are_refused_as_written() {
        for text in [
            "//evil.example/x",
            "/\\evil.example/x",
            "\\\\evil.example",
            "/\t/evil.example",
            "evil.example/x",
            "{{next}}",
            "https://{{host}}/x",
            "ftp://127.0.0.1:8080/x",
            "https://user:pw@sso.example.vn/x",
        ] {
            assert!(classify(text).is_err(), "{text:?} should be refused");
        }
        assert_eq!(classify("/api/{{id}}"), Ok(PathForm::BelowBase));
        assert_eq!(
            classify("https://SSO.example.vn:443/login?x={{y}}"),
            Ok(PathForm::Absolute(
                Origin::parse("https://sso.example.vn").unwrap()
            ))
        );
    }

    #[test]
    fn a_rendered_path_stays_on_the_home_or_a_listed_origin() {
        let f = fence();
        assert_eq!(
            f.resolve("/api/x?q=1").unwrap().as_str(),
            "http://127.0.0.1:8080/api/x?q=1"
        );
        assert!(f.resolve("https://sso.example.vn/login").is_ok());
        let err = f.resolve("http://other.example:8080/x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`http://other.example:8080/x` is on origin `http://other.example:8080`, not on the environment's origin `http://127.0.0.1:8080`; not sent, so its credentials stay home"
        );
        // A placeholder that renders to `/evil` after a `/` would make `//evil`.
        assert!(f.resolve("//evil.example/x").is_err());
        // The same host on another port or scheme is another origin.
        assert!(f.resolve("https://127.0.0.1:8080/x").is_err());
        assert!(f.resolve("http://127.0.0.1:8081/x").is_err());
    }

    #[test]
    fn an_unfollowed_redirect_is_named_with_both_origins() {
        let from = Url::parse("http://127.0.0.1:8080/a").unwrap();
        assert_eq!(unfollowed_redirect(302, &from, Some("/b")), None);
        assert_eq!(unfollowed_redirect(200, &from, Some("http://x/")), None);
        assert_eq!(
            unfollowed_redirect(302, &from, Some("http://other:9/b")).as_deref(),
            Some("cross-origin redirect (HTTP 302) from `http://127.0.0.1:8080` to `http://other:9` not followed: the environment's credentials stay on its origin")
        );
    }
}
