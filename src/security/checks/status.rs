//! Status, metrics, profiling and administration endpoints answered without
//! authentication at their default paths: Apache `server-status`/`server-info`, nginx
//! `stub_status`, Prometheus `/metrics`, Go pprof, Spring Boot actuator, the APIs of
//! Prometheus, Grafana and Kibana, and the consoles of Tomcat, phpMyAdmin and Jenkins.
//! Judged by content: a login page, a 200 catch-all or a 401 is not the endpoint.

use super::super::catalogue::{CheckId, CheckInfo};
use super::super::outcome::Finding;
use super::super::scanner::{FetchError, Scanner};

/// Default paths of each check, at most the catalogue's bound.
fn paths(id: CheckId) -> &'static [&'static str] {
    match id {
        CheckId::StatusApache => &["/server-status", "/server-info"],
        CheckId::StatusNginx => &["/nginx_status", "/stub_status"],
        CheckId::StatusPrometheusMetrics => &["/metrics"],
        CheckId::StatusPprof => &["/debug/pprof/"],
        CheckId::StatusActuator => &["/actuator", "/actuator/env"],
        CheckId::StatusObservabilityApi => {
            &["/api/v1/status/config", "/api/datasources", "/api/status"]
        }
        CheckId::AdminConsole => &["/manager/html", "/phpmyadmin/", "/script"],
        _ => &[],
    }
}

/// What an answer shows, if it is the open endpoint.
pub(super) fn sign(id: CheckId, body: &str) -> Option<String> {
    let has = |s: &str| body.contains(s);
    let json = || serde_json::from_str::<serde_json::Value>(body).ok();
    match id {
        CheckId::StatusApache if has("Apache Server Status for") => {
            Some("Apache server-status: every request being served, with client addresses".into())
        }
        CheckId::StatusApache if has("Apache Server Information") => {
            Some("Apache server-info: the server's full configuration".into())
        }
        CheckId::StatusNginx
            if has("Active connections:") && has("server accepts handled requests") =>
        {
            Some("nginx stub_status".into())
        }
        CheckId::StatusPrometheusMetrics => {
            let lines = body.lines().filter(|l| l.starts_with("# TYPE ")).count();
            (lines > 0 && body.lines().any(|l| l.starts_with("# HELP ")))
                .then(|| format!("Prometheus metrics, {lines} metric families"))
        }
        CheckId::StatusPprof
            if has("Types of profiles available")
                || (has("goroutine") && has("/debug/pprof/heap")) =>
        {
            Some("Go pprof index: heap, goroutine and CPU profiles on request".into())
        }
        CheckId::StatusActuator => {
            let v = json()?;
            if v.get("propertySources").is_some() || v.get("activeProfiles").is_some() {
                return Some("Spring Boot actuator `env`: the application's configuration".into());
            }
            let links = v.get("_links")?.as_object()?;
            let mut names: Vec<&str> = links
                .keys()
                .map(String::as_str)
                .filter(|k| *k != "self")
                .collect();
            names.sort_unstable();
            (!names.is_empty())
                .then(|| format!("Spring Boot actuator endpoints: {}", names.join(", ")))
        }
        CheckId::StatusObservabilityApi => {
            let v = json()?;
            if v.pointer("/data/yaml").is_some_and(|y| y.is_string()) {
                return Some("Prometheus configuration API".into());
            }
            if let Some(list) = v.as_array() {
                let sources = list
                    .iter()
                    .filter(|d| {
                        d.get("type").is_some()
                            && d.get("url").is_some()
                            && d.get("access").is_some()
                    })
                    .count();
                return (sources > 0)
                    .then(|| format!("Grafana data sources API, {sources} sources"));
            }
            (v.pointer("/version/number").is_some() && v.pointer("/status/overall").is_some())
                .then(|| "Kibana status API".into())
        }
        CheckId::AdminConsole if has("Tomcat Web Application Manager") => {
            Some("Tomcat manager".into())
        }
        CheckId::AdminConsole
            if has("phpMyAdmin")
                && !has("pma_password")
                && !has("input_password")
                && has("server_databases") =>
        {
            Some("phpMyAdmin, logged in".into())
        }
        CheckId::AdminConsole if has("Script Console") && has("Jenkins") && !has("j_password") => {
            Some("Jenkins script console".into())
        }
        _ => None,
    }
}

pub(super) async fn run(
    scanner: &mut Scanner,
    info: &CheckInfo,
) -> Result<Vec<Finding>, FetchError> {
    let candidates: Vec<&str> = paths(info.id)
        .iter()
        .copied()
        .filter(|p| scanner.in_scope(p))
        .take(info.max_requests as usize)
        .collect();
    if candidates.is_empty() {
        return Err(FetchError::OutOfScope(format!(
            "every path of `{}` out of scope",
            info.id
        )));
    }
    let mut findings = Vec::new();
    for path in candidates {
        let exchange = scanner.fetch("GET", path, &[], None).await?;
        if !(200..300).contains(&exchange.response.status) {
            continue;
        }
        if let Some(what) = sign(info.id, &exchange.response.body) {
            let note = format!("(answered without authentication: {what})");
            findings.push(Finding::of(
                info,
                &exchange.url,
                scanner.evidence(&exchange, &note),
            ));
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_by_content_not_status() {
        assert!(sign(
            CheckId::StatusApache,
            "<h1>Apache Server Status for localhost</h1>"
        )
        .is_some());
        assert!(sign(
            CheckId::StatusNginx,
            "Active connections: 2 \nserver accepts handled requests\n 5 5 9 \nReading: 0 Writing: 1 Waiting: 1"
        )
        .is_some());
        assert!(sign(
            CheckId::StatusPrometheusMetrics,
            "# HELP up x\n# TYPE up gauge\nup 1\n"
        )
        .is_some());
        assert!(sign(CheckId::StatusPrometheusMetrics, "<html>metrics</html>").is_none());
        assert!(sign(CheckId::StatusPprof, "<p>Types of profiles available:</p>").is_some());
        assert!(sign(
            CheckId::StatusActuator,
            r#"{"_links":{"self":{"href":"/actuator"},"env":{"href":"/actuator/env"},"heapdump":{"href":"/actuator/heapdump"}}}"#
        )
        .is_some_and(|s| s.contains("env, heapdump")));
        assert!(sign(
            CheckId::StatusActuator,
            r#"{"_links":{"self":{"href":"/"}}}"#
        )
        .is_none());
        assert!(sign(
            CheckId::StatusObservabilityApi,
            r#"{"status":"success","data":{"yaml":"global:\n"}}"#
        )
        .is_some());
        assert!(sign(CheckId::StatusObservabilityApi, r#"{"status":"ok"}"#).is_none());
        assert!(sign(
            CheckId::AdminConsole,
            "<title>/manager</title><h1>Tomcat Web Application Manager</h1>"
        )
        .is_some());
        assert!(sign(
            CheckId::AdminConsole,
            "<title>phpMyAdmin</title><input type=\"password\" name=\"pma_password\">"
        )
        .is_none());
    }
}
