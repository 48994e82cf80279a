//! Debug and error pages of the common stacks — Django, Flask/Werkzeug, Laravel,
//! Symfony, Spring Boot, ASP.NET, Rails, Express/Node and PHP — recognised from what
//! they serve: on every page discovery reached, on the answer to a random missing
//! path, and on the one or two paths each stack's debug tools live at. A status code
//! proves nothing here; each stack's own words do.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::discovery::Site;
use super::super::outcome::Finding;
use super::super::scanner::{Exchange, FetchError, Scanner};
use regex::Regex;
use std::sync::OnceLock;

/// The paths each stack's debug tools answer at, at most the catalogue's bound.
fn own_paths(id: CheckId) -> Vec<String> {
    match id {
        CheckId::DebugWerkzeug => vec!["/console".into()],
        CheckId::DebugLaravel => vec!["/_ignition/health-check".into()],
        CheckId::DebugSymfony => vec!["/_profiler/".into()],
        CheckId::DebugSpring => vec!["/error".into()],
        // An `.aspx` path makes IIS hand the request to ASP.NET, whose 404 is its own page.
        CheckId::DebugAspnet => vec![format!("/stagegate-{}.aspx", super::unguessable())],
        CheckId::DebugRails => vec!["/rails/info/routes".into()],
        CheckId::DebugPhpinfo => vec!["/phpinfo.php".into(), "/info.php".into()],
        _ => Vec::new(),
    }
}

/// What a body shows of a stack's debug page, if anything.
pub(super) fn sign(id: CheckId, body: &str) -> Option<&'static str> {
    let has = |s: &str| body.contains(s);
    match id {
        CheckId::DebugDjango if has("DEBUG = True") && (has("Django") || has("URLconf")) => {
            Some("Django debug page (DEBUG = True)")
        }
        CheckId::DebugWerkzeug
            if has("Werkzeug Debugger")
                || has("__debugger__")
                || has("The debugger caught an exception in your WSGI application") =>
        {
            Some("Werkzeug interactive debugger")
        }
        CheckId::DebugLaravel if has("\"can_execute_commands\"") => {
            Some("Laravel Ignition health check (can run commands)")
        }
        CheckId::DebugLaravel
            if has("Whoops! There was an error.")
                || (has("Illuminate\\") && (has("Stack trace") || has("ignition"))) =>
        {
            Some("Laravel debug page")
        }
        CheckId::DebugSymfony if has("Symfony Profiler") || has("sf-toolbar") => {
            Some("Symfony web profiler")
        }
        CheckId::DebugSymfony if has("Symfony\\Component\\") && has("Stack Trace") => {
            Some("Symfony exception page")
        }
        CheckId::DebugSpring if has("Whitelabel Error Page") => {
            Some("Spring Boot whitelabel error page")
        }
        CheckId::DebugSpring
            if has("\"trace\"") && (has("at org.springframework") || has("java.lang.")) =>
        {
            Some("Spring Boot error answer with a stack trace")
        }
        CheckId::DebugAspnet
            if (has("Server Error in '/") && has("Application."))
                || has("An unhandled exception occurred while processing the request.")
                || has("ASP.NET is configured to show verbose error messages") =>
        {
            Some("ASP.NET detailed error page")
        }
        CheckId::DebugRails
            if has("Action Controller: Exception caught")
                || has("Rails.root:")
                || (has("Routes") && has("Helper") && has("HTTP Verb")) =>
        {
            Some("Rails development page")
        }
        CheckId::DebugExpress
            if has("at Layer.handle [as handle_request]")
                || has("node_modules/express/lib/")
                || (has("at Object.<anonymous>") && has(".js:")) =>
        {
            Some("Node.js stack trace")
        }
        CheckId::DebugPhpErrors => php_error()
            .filter(|re| re.is_match(body))
            .map(|_| "PHP error message"),
        CheckId::DebugPhpinfo
            if has("<title>phpinfo()</title>")
                || (has("PHP Version") && has("PHP License") && has("php.ini")) =>
        {
            Some("phpinfo() page")
        }
        _ => None,
    }
}

/// `<b>Warning</b>:  … in <b>/path</b> on line <b>12</b>`, PHP's own error markup.
fn php_error() -> Option<&'static Regex> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            Regex::new(r"(?s)<b>(Fatal error|Warning|Notice|Parse error|Deprecated)</b>:.{0,400}? in <b>[^<]+</b> on line <b>\d+</b>").ok()
        })
        .as_ref()
}

pub(super) async fn run(
    scanner: &mut Scanner,
    site: &Site,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let missing = super::missing_page(scanner).await?;
    let mut judged: Vec<Exchange> = site.pages.iter().map(|p| p.exchange.clone()).collect();
    judged.push(missing);
    for path in own_paths(info.id)
        .into_iter()
        .take(info.max_requests as usize)
    {
        if !scanner.in_scope(&path) {
            continue;
        }
        match scanner.fetch("GET", &path, &[], None).await {
            Ok(exchange) => judged.push(exchange),
            // One debug path not answering says nothing about the others.
            Err(FetchError::Transport(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut findings: Vec<Finding> = Vec::new();
    for exchange in &judged {
        let Some(what) = sign(info.id, &exchange.response.body) else {
            continue;
        };
        if findings.iter().any(|f| f.url == exchange.url) {
            continue;
        }
        let note = format!("({what})");
        findings.push(Finding::of(
            info,
            &exchange.url,
            scanner.evidence(exchange, &note),
        ));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stack_by_its_own_words_and_not_by_another() {
        let pages = [
            (CheckId::DebugDjango, "<p>You're seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p><p>Using the URLconf defined in <code>portal.urls</code>"),
            (CheckId::DebugWerkzeug, "<title>Console // Werkzeug Debugger</title>"),
            (CheckId::DebugLaravel, r#"{"can_execute_commands":true}"#),
            (CheckId::DebugSymfony, "<title>Symfony Profiler</title>"),
            (CheckId::DebugSpring, "<h1>Whitelabel Error Page</h1><p>This application has no explicit mapping for /error</p>"),
            (CheckId::DebugAspnet, "<h1>Server Error in '/' Application.<hr></h1><h2><i>The resource cannot be found.</i></h2>"),
            (CheckId::DebugRails, "<h1>Routing Error</h1><p>Rails.root: /srv/app</p>"),
            (CheckId::DebugExpress, "<pre>Error: boom<br> &nbsp; &nbsp;at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)</pre>"),
            (CheckId::DebugPhpErrors, "<br />\n<b>Warning</b>:  Undefined variable $x in <b>/var/www/html/index.php</b> on line <b>3</b><br />"),
            (CheckId::DebugPhpinfo, "<title>phpinfo()</title><h1>PHP Version 8.2.7</h1>"),
        ];
        for (id, body) in pages {
            assert!(sign(id, body).is_some(), "{id} not seen in its own page");
            for (other, _) in pages.iter().filter(|(o, _)| *o != id) {
                assert!(
                    sign(*other, body).is_none(),
                    "{other} seen in the page of {id}"
                );
            }
        }
        let quiet = r#"{"error":"không tìm thấy"}"#;
        for id in CheckId::ALL {
            assert!(sign(*id, quiet).is_none(), "{id}");
        }
        assert!(sign(CheckId::DebugExpress, "<p>Cannot GET /x</p>").is_none());
    }
}
