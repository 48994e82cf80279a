//! `--launcher kubernetes`: the shards as an Indexed Job on an existing cluster, through
//! the `kubectl` on PATH (its current context and credentials; stagegate holds none).
//! Takes the plan, one load suite and the run's key and token; writes the manifests
//! (those of `k8s render`, for this suite) to a file and applies them, with the run's
//! token in its own Secret sent on `kubectl`'s standard input (never in an argument or
//! a file); watches the Job's pods and reports each one's end on the exits channel;
//! deletes what it applied at the end.

use super::coordinator::ShardSetup;
use super::k8s::{self, RenderOptions};
use super::launcher::{Exited, Handle, Worker};
use super::ShardId;
use crate::plan::Plan;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// How often the Job's pods are listed: a failed pod is noticed within a few seconds
/// without loading the API server (one request per interval for the whole Job).
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// How long one `kubectl` call may take: an API server answers in well under a second;
/// a minute covers an image-pull-heavy apply on a slow cluster.
const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// The CPU and memory each worker pod requests (the defaults of `k8s render`).
const CPU: &str = "1";
const MEMORY: &str = "1Gi";

/// What was applied, to delete at the end.
pub struct Applied {
    kubectl: PathBuf,
    namespace: String,
    objects: Vec<String>,
    watcher: tokio::task::JoinHandle<()>,
}

/// `kubectl` on PATH.
pub fn find_kubectl() -> Result<PathBuf, String> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            "`kubectl` is not on PATH (hint: install it and point its context at the cluster, or write the manifests with `stagegate k8s render` and apply them yourself)".to_string()
        })
}

/// Runs `kubectl args`, with `stdin` on its standard input; gives its standard output.
async fn kubectl(program: &Path, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .await
            .map_err(|e| format!("kubectl's standard input: {e}"))?;
    }
    let out = tokio::time::timeout(KUBECTL_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("`kubectl {}` took over {KUBECTL_TIMEOUT:?}", args.join(" ")))?
        .map_err(|e| format!("kubectl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`kubectl {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Applies the suite's Job and watches its pods.
pub async fn start(
    setup: &ShardSetup,
    plan: &Plan,
    suite: &str,
    coordinator_url: &str,
    run: &str,
    token: &str,
    exits: &mpsc::UnboundedSender<Exited>,
) -> Result<(Vec<Worker>, Applied), String> {
    let program = find_kubectl()?;
    let kube = &setup.kubernetes;
    let files = k8s::files_as_run(plan)?;
    let job = k8s::job_name(plan, suite);
    let token_secret = k8s::dns_label(&[job.as_str(), "run", &run[..run.len().min(8)]]);
    let options = RenderOptions {
        shards: setup.count,
        image: setup.image.clone(),
        namespace: kube.namespace.clone(),
        coordinator: coordinator_url.to_string(),
        run: run.to_string(),
        secret: kube.secret.clone(),
        cpu: CPU.into(),
        memory: MEMORY.into(),
        suite: Some(suite.to_string()),
        run_secret: Some(token_secret.clone()),
        // The run deletes what it applied; a PodMonitor is left to `k8s render`, whose
        // objects the operator applies and keeps.
        scrape: k8s::Scrape::Annotations,
    };
    let manifests = k8s::to_yaml(&k8s::render(plan, &files, &options));
    let path = kube.manifests.join(format!("{job}.yaml"));
    std::fs::create_dir_all(&kube.manifests)
        .and_then(|()| std::fs::write(&path, &manifests))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let secret = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": token_secret, "namespace": kube.namespace },
        "type": "Opaque",
        "stringData": { "token": token },
    });
    let ns = kube.namespace.as_str();
    kubectl(
        &program,
        &["apply", "-n", ns, "-f", "-"],
        Some(&secret.to_string()),
    )
    .await?;
    let manifest_path = path.to_string_lossy().into_owned();
    let applied = kubectl(&program, &["apply", "-n", ns, "-f", &manifest_path], None).await;
    let objects = vec![
        format!("job/{job}"),
        format!("configmap/{}", k8s::config_map_name(plan)),
        format!("secret/{token_secret}"),
    ];
    if let Err(e) = applied {
        let _ = delete(&program, ns, &objects).await;
        return Err(e);
    }
    let workers = (0..setup.count)
        .filter_map(|i| ShardId::new(i, setup.count))
        .map(|shard| Worker {
            shard,
            handle: Handle::Pod,
        })
        .collect();
    let watcher = {
        let (program, namespace, job, exits) = (
            program.clone(),
            kube.namespace.clone(),
            job.clone(),
            exits.clone(),
        );
        let count = setup.count;
        tokio::spawn(async move { watch(&program, &namespace, &job, count, &exits).await })
    };
    Ok((
        workers,
        Applied {
            kubectl: program,
            namespace: kube.namespace.clone(),
            objects,
            watcher,
        },
    ))
}

/// Lists the Job's pods until every index has ended, sending each end once.
async fn watch(
    program: &Path,
    namespace: &str,
    job: &str,
    count: u32,
    exits: &mpsc::UnboundedSender<Exited>,
) {
    let selector = format!("job-name={job}");
    let mut ended = BTreeSet::new();
    while ended.len() < count as usize {
        tokio::time::sleep(WATCH_EVERY).await;
        let Ok(listed) = kubectl(
            program,
            &[
                "get", "pods", "-n", namespace, "-l", &selector, "-o", "json",
            ],
            None,
        )
        .await
        else {
            continue;
        };
        for (index, phase) in pod_phases(&listed) {
            let Some(shard) = ShardId::new(index, count) else {
                continue;
            };
            let failure = match phase.as_str() {
                "Succeeded" => None,
                "Failed" => Some(format!(
                    "its pod failed (hint: `kubectl logs -n {namespace} -l {selector}`)"
                )),
                _ => continue,
            };
            if ended.insert(index) {
                let _ = exits.send(Exited { shard, failure });
            }
        }
    }
}

/// Each pod's completion index and phase, from `kubectl get pods -o json`.
fn pod_phases(listed: &str) -> Vec<(u32, String)> {
    let Ok(list) = serde_json::from_str::<Value>(listed) else {
        return Vec::new();
    };
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|pod| {
                    let index = pod["metadata"]["annotations"]
                        ["batch.kubernetes.io/job-completion-index"]
                        .as_str()?
                        .parse()
                        .ok()?;
                    Some((index, pod["status"]["phase"].as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn delete(program: &Path, namespace: &str, objects: &[String]) -> Result<String, String> {
    let mut args = vec![
        "delete",
        "-n",
        namespace,
        "--ignore-not-found",
        "--wait=false",
    ];
    args.extend(objects.iter().map(String::as_str));
    kubectl(program, &args, None).await
}

impl Applied {
    /// Deletes the Job (its pods with it), the ConfigMap and the run's Secret.
    pub async fn delete(self) {
        self.watcher.abort();
        let _ = delete(&self.kubectl, &self.namespace, &self.objects).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_phases_are_read_by_completion_index() {
        let listed = r#"{"items":[
          {"metadata":{"annotations":{"batch.kubernetes.io/job-completion-index":"1"}},"status":{"phase":"Failed"}},
          {"metadata":{"annotations":{}},"status":{"phase":"Running"}},
          {"metadata":{"annotations":{"batch.kubernetes.io/job-completion-index":"0"}},"status":{"phase":"Running"}}
        ]}"#;
        assert_eq!(
            pod_phases(listed),
            vec![(1, "Failed".to_string()), (0, "Running".to_string())]
        );
    }
}
