//! The container step of `stagegate run`, between the plan and the suites: for an
//! environment with a `[provision]` block, check the engine and the image (exit 2 when
//! either is missing, before anything runs), start the container, and at the end keep
//! its logs with the run's reports and remove it.

use super::interruption::Interrupts;
use crate::config::environment::Reach;
use crate::exit_code;
use crate::plan::Plan;
use crate::provision::{self, ContainerLabels, ProvisionError, Provisioned};
use std::path::Path;

/// Starts the plan's container when its environment provisions itself; `Ok(None)` for a
/// standing environment. `Err` carries the exit code, after printing why.
pub(super) async fn start(
    root: &Path,
    plan: &Plan,
    interrupts: &mut Interrupts,
) -> Result<Option<Provisioned>, u8> {
    let Reach::Provision(spec) = &plan.environment.reach else {
        return Ok(None);
    };
    if let Err(e) = provision::check_engine(&spec.image).await {
        eprintln!("error: environment `{}`: {e}", plan.environment.name);
        return Err(exit_code::INVALID_INPUT);
    }
    match provision::sweep_orphans(root).await {
        Ok(0) => {}
        Ok(n) => eprintln!("  removed {n} container(s) left by an earlier run whose process died"),
        Err(e) => eprintln!("warning: cannot look for containers left by earlier runs: {e}"),
    }
    eprintln!(
        "  starting a container of `{}` for environment `{}` ...",
        spec.image, plan.environment.name
    );
    let labels = ContainerLabels::new(root, plan);
    let started = tokio::select! {
        started = provision::start(spec, &labels) => started,
        signal = interrupts.recv() => {
            // The start future is dropped mid-way; remove whatever it created.
            let _ = provision::sweep(&labels.session).await;
            eprintln!("interrupted by {signal} while the container was starting; it was removed and nothing ran");
            return Err(exit_code::FAILED);
        }
    };
    match started {
        Ok(container) => {
            eprintln!(
                "  container {} ready at {}",
                short(&container.id),
                container.base_url
            );
            Ok(Some(container))
        }
        Err(e) => {
            eprintln!("error: environment `{}`: {e}", plan.environment.name);
            Err(match e {
                ProvisionError::EngineUnreachable { .. } | ProvisionError::ImageMissing { .. } => {
                    exit_code::INVALID_INPUT
                }
                ProvisionError::NotReady { .. }
                | ProvisionError::Container { .. }
                | ProvisionError::Logs { .. } => exit_code::FAILED,
            })
        }
    }
}

/// Keeps the container's logs in `report_dir` (when the run got that far) and removes
/// the container, whatever the run's outcome. Problems are printed, not fatal: the
/// run's own result is what the exit code reports.
pub(super) async fn finish(container: Option<Provisioned>, report_dir: Option<&Path>) {
    let Some(container) = container else { return };
    if let Some(dir) = report_dir {
        match container.save_logs(dir).await {
            Ok(path) => eprintln!("  container logs: {}", path.display()),
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    let id = short(&container.id).to_string();
    match container.remove().await {
        Ok(()) => eprintln!("  container {id} removed"),
        Err(e) => eprintln!("error: {e}"),
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
