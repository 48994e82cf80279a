//! Kubernetes manifests for a sharded stage. Takes a plan, the contents of its files as
//! run and [`RenderOptions`]; gives the objects to apply: one ConfigMap holding the
//! files (a key per file, mounted back into their tree), and per load suite one Indexed
//! Job (completions = parallelism = N) whose pods run `stagegate worker --shards N`,
//! their index coming from `JOB_COMPLETION_INDEX`. Secrets are referenced by name
//! (`secretKeyRef`), never carried: the run's token and the environment's own token.
//! The workers' metrics are announced to Prometheus either by the pods' scrape
//! annotations (the common `kubernetes-pods` job) or, for the Prometheus Operator, by a
//! `PodMonitor` selecting the workers' pods ([`Scrape`]).

use crate::config::suite::SuiteBody;
use crate::plan::Plan;
use serde_json::{json, Value};

/// Where the project's files are mounted in a worker pod.
pub const PROJECT_DIR: &str = "/project";

/// What the manifests need besides the plan.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Workers per load suite.
    pub shards: u32,
    /// The worker image (stagegate's binary as entrypoint).
    pub image: String,
    /// Namespace of every object.
    pub namespace: String,
    /// The coordinator's URL as the pods reach it.
    pub coordinator: String,
    /// The run key the coordinator expects.
    pub run: String,
    /// The Secret holding the run's token (key `token`) and, under the variable's own
    /// name, the environment's token.
    pub secret: String,
    /// CPU and memory requested by each worker.
    pub cpu: String,
    /// See `cpu`.
    pub memory: String,
    /// Only this load suite's Job (the coordinator runs one suite at a time); `None`
    /// renders every load suite's.
    pub suite: Option<String>,
    /// The Secret holding the run's token (key `token`), when not `secret`: the
    /// coordinator makes one per run.
    pub run_secret: Option<String>,
    /// How Prometheus finds the workers' metrics.
    pub scrape: Scrape,
}

/// How Prometheus is told where the workers' metrics are. One or the other, never both:
/// a cluster that honoured both would scrape every worker twice, under two job names,
/// and a sum over the workers would count each request twice.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scrape {
    /// `prometheus.io/*` annotations on the pods, for Prometheus' own pod discovery.
    #[default]
    Annotations,
    /// A `monitoring.coreos.com/v1` PodMonitor, for the Prometheus Operator, carrying
    /// `labels` besides stagegate's own (a Prometheus selects the PodMonitors whose
    /// labels match its `podMonitorSelector`, e.g. `release: prometheus`).
    PodMonitor {
        /// Extra labels of the PodMonitor, `(name, value)`.
        labels: Vec<(String, String)>,
    },
}

/// How often the PodMonitor asks for a scrape: a stage's load lasts minutes and its
/// abort criteria act per second, so Prometheus' usual 30 s to 1 min would show a short
/// stage as two or three points; 5 s costs a worker one small page per 5 s.
pub const POD_MONITOR_INTERVAL: &str = "5s";

/// The PodMonitor's name for a plan.
pub fn pod_monitor_name(plan: &Plan) -> String {
    format!("{}-workers", truncate(&base_name(plan), 55))
}

/// The port each worker serves its live metrics on (`/metrics`, with a `shard` label),
/// announced to Prometheus by the pod's scrape annotations. 9464 is the port
/// OpenTelemetry's Prometheus exporters use, free in a worker pod.
pub const METRICS_PORT: u16 = 9464;
/// The name of that port in the pod, which a PodMonitor selects it by.
pub const METRICS_PORT_NAME: &str = "metrics";

/// The Job's name for a suite of a plan.
pub fn job_name(plan: &Plan, suite: &str) -> String {
    dns_label(&[truncate(&base_name(plan), 40), suite])
}

/// The ConfigMap's name for a plan.
pub fn config_map_name(plan: &Plan) -> String {
    format!("{}-files", truncate(&base_name(plan), 57))
}

fn base_name(plan: &Plan) -> String {
    dns_label(&[
        "stagegate",
        &plan.system,
        &plan.release,
        plan.stage.as_str(),
    ])
}

/// The plan's files as run, each path (with `/`) and its text, read under the rules
/// `validate` read them with: a file swapped since for a FIFO or a link out of the
/// project is refused, not followed.
pub fn files_as_run(plan: &Plan) -> Result<Vec<(String, String)>, String> {
    plan.files
        .iter()
        .map(|rel| {
            crate::config::project_file::read_text(
                &plan.files_root,
                &plan.files_root.join(rel),
                crate::config::project_file::MAX_FEEDER_BYTES,
            )
            .map(|text| (rel.to_string_lossy().replace('\\', "/"), text))
            .map_err(|e| format!("{}: {e}", rel.display()))
        })
        .collect()
}

/// A name Kubernetes accepts (RFC 1123 label: lowercase, digits, '-', at most 63).
pub fn dns_label(parts: &[&str]) -> String {
    let joined = parts.join("-").to_lowercase();
    let mut label: String = joined
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.truncate(63);
    label.trim_matches('-').to_string()
}

/// A ConfigMap key for a file path (keys allow only `[-._a-zA-Z0-9]`).
fn key_of(path: &str) -> String {
    path.chars()
        .map(|c| match c {
            '/' => '.',
            c if c.is_ascii_alphanumeric() || "-_.".contains(c) => c,
            _ => '_',
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// The objects, in the order to apply them.
pub fn render(plan: &Plan, files: &[(String, String)], options: &RenderOptions) -> Vec<Value> {
    let config_map = config_map_name(plan);
    let labels = json!({
        "app.kubernetes.io/name": "stagegate",
        "app.kubernetes.io/component": "worker",
        "stagegate/system": dns_label(&[&plan.system]),
        "stagegate/stage": plan.stage.as_str(),
    });
    let mut data = serde_json::Map::new();
    let mut items = Vec::new();
    for (i, (path, text)) in files.iter().enumerate() {
        // Numbered so that two paths that read alike as keys stay two keys.
        let key = format!("{i:03}.{}", key_of(path));
        items.push(json!({ "key": key, "path": path }));
        data.insert(key, Value::String(text.clone()));
    }
    let mut objects = vec![json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": config_map, "namespace": options.namespace, "labels": labels },
        "data": data,
    })];
    let run_secret = options.run_secret.as_ref().unwrap_or(&options.secret);
    let mut env = vec![json!({
        "name": super::worker::TOKEN_VAR,
        "valueFrom": { "secretKeyRef": { "name": run_secret, "key": "token" } },
    })];
    if let Some(auth) = &plan.environment.auth {
        env.push(json!({
            "name": auth.token_env,
            "valueFrom": { "secretKeyRef": { "name": options.secret, "key": auth.token_env } },
        }));
    }
    for suite in &plan.suites {
        if !matches!(suite.body, SuiteBody::Load(_))
            || options
                .suite
                .as_ref()
                .is_some_and(|only| *only != suite.name)
        {
            continue;
        }
        let name = job_name(plan, &suite.name);
        let args: Vec<String> = [
            "--root",
            PROJECT_DIR,
            "worker",
            &plan.system,
            "--release",
            &plan.release,
            "--stage",
            plan.stage.as_str(),
            "--suite",
            &suite.name,
            "--shards",
            &options.shards.to_string(),
            "--coordinator",
            &options.coordinator,
            "--run",
            &options.run,
            "--metrics-listen",
            &format!("0.0.0.0:{METRICS_PORT}"),
        ]
        .map(String::from)
        .to_vec();
        // Prometheus' Kubernetes discovery keeps pods with these annotations (the
        // common `kubernetes-pods` scrape job); each pod's series carry its `shard`.
        let annotations = match options.scrape {
            Scrape::Annotations => json!({
                "prometheus.io/scrape": "true",
                "prometheus.io/port": METRICS_PORT.to_string(),
                "prometheus.io/path": "/metrics",
            }),
            Scrape::PodMonitor { .. } => json!({}),
        };
        objects.push(json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": { "name": name, "namespace": options.namespace, "labels": labels },
            "spec": {
                "completionMode": "Indexed",
                "completions": options.shards,
                "parallelism": options.shards,
                "backoffLimit": 0,
                "template": {
                    "metadata": { "labels": labels, "annotations": annotations },
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{
                            "name": "worker",
                            "image": options.image,
                            "args": args,
                            "env": env,
                            "ports": [{ "name": METRICS_PORT_NAME, "containerPort": METRICS_PORT, "protocol": "TCP" }],
                            "resources": {
                                "requests": { "cpu": options.cpu, "memory": options.memory },
                                "limits": { "memory": options.memory },
                            },
                            "volumeMounts": [{ "name": "files", "mountPath": PROJECT_DIR, "readOnly": true }],
                        }],
                        "volumes": [{
                            "name": "files",
                            "configMap": { "name": config_map, "items": items },
                        }],
                    },
                },
            },
        }));
    }
    if let Scrape::PodMonitor { labels: extra } = &options.scrape {
        objects.push(pod_monitor(plan, options, &labels, extra));
    }
    objects
}

/// A PodMonitor selecting the workers' pods of `plan` (by the labels every Job's pods
/// carry) and their `metrics` port.
fn pod_monitor(
    plan: &Plan,
    options: &RenderOptions,
    pod_labels: &Value,
    extra: &[(String, String)],
) -> Value {
    let mut labels = pod_labels.clone();
    if let Some(map) = labels.as_object_mut() {
        for (name, value) in extra {
            map.insert(name.clone(), Value::String(value.clone()));
        }
    }
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": pod_monitor_name(plan),
            "namespace": options.namespace,
            "labels": labels,
        },
        "spec": {
            "selector": { "matchLabels": pod_labels },
            "podMetricsEndpoints": [{
                "port": METRICS_PORT_NAME,
                "path": "/metrics",
                "interval": POD_MONITOR_INTERVAL,
            }],
        },
    })
}

fn truncate(s: &str, n: usize) -> &str {
    let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
    s[..end].trim_end_matches('-')
}

/// The objects as one YAML stream (each document written as JSON, which is YAML).
pub fn to_yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| {
            format!(
                "---\n{}\n",
                serde_json::to_string_pretty(o).unwrap_or_default()
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_keys_are_what_kubernetes_accepts() {
        assert_eq!(
            dns_label(&["stagegate", "dichvucong", "1.0.0", "real-test"]),
            "stagegate-dichvucong-1-0-0-real-test"
        );
        assert_eq!(
            key_of("scenarios/dichvucong/data/a b.csv"),
            "scenarios.dichvucong.data.a_b.csv"
        );
    }
}
