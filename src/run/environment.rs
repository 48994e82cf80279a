//! The environment of a run: a standing one is only resolved; one with a `[provision]`
//! block gets its container started before the run (the engine and the image checked
//! first, containers of dead runs swept, the start abandoned on a signal) and, after the
//! run, its logs kept next to the reports and the container removed, whatever happened.

use super::cancel::Cancel;
use super::consumer::RunConsumer;
use super::event::{EnvironmentEvent, RunEvent};
use super::StageRunError;
use crate::config::environment::Reach;
use crate::plan::Plan;
use crate::provision::{self, ContainerLabels, Provisioned};
use std::path::Path;

fn tell(out: &dyn RunConsumer, event: EnvironmentEvent) {
    let _ = out.event(RunEvent::Environment(&event));
}

/// Starts the plan's container when its environment provisions itself; `Ok(None)` for
/// a standing environment.
pub(super) async fn start(
    root: &Path,
    plan: &Plan,
    cancel: &Cancel,
    out: &dyn RunConsumer,
) -> Result<Option<Provisioned>, StageRunError> {
    let Reach::Provision(spec) = &plan.environment.reach else {
        return Ok(None);
    };
    let failed = |source| StageRunError::Environment {
        environment: plan.environment.name.clone(),
        source,
    };
    provision::check_engine(&spec.image).await.map_err(failed)?;
    match provision::sweep_orphans(root).await {
        Ok(0) => {}
        Ok(count) => tell(out, EnvironmentEvent::OrphansRemoved { count }),
        Err(e) => tell(
            out,
            EnvironmentEvent::OrphanSweepFailed {
                error: e.to_string(),
            },
        ),
    }
    tell(
        out,
        EnvironmentEvent::ContainerStarting {
            image: spec.image.to_string(),
            environment: plan.environment.name.clone(),
        },
    );
    let labels = ContainerLabels::new(root, plan);
    let container = tokio::select! {
        started = provision::start(spec, &labels) => started.map_err(failed)?,
        signal = cancel.requested(1) => {
            // The start future is dropped mid-way; remove whatever it created, and wait
            // until the engine no longer lists it before the process may exit.
            return Err(match provision::sweep(&labels.session).await {
                Ok(_) => StageRunError::InterruptedBeforeRun { signal },
                Err(source) => StageRunError::InterruptedContainerLeft { signal, source },
            });
        }
    };
    tell(
        out,
        EnvironmentEvent::ContainerReady {
            id: short(&container.id).to_string(),
            base_url: container.base_url.to_string(),
        },
    );
    Ok(Some(container))
}

/// Keeps the container's logs in `report_dir` (when the run got that far) and removes
/// the container. Problems are told, not fatal: the run's own result is what counts.
pub(super) async fn finish(
    container: Option<Provisioned>,
    report_dir: Option<&Path>,
    out: &dyn RunConsumer,
) {
    let Some(container) = container else { return };
    if let Some(dir) = report_dir {
        tell(
            out,
            match container.save_logs(dir).await {
                Ok(path) => EnvironmentEvent::LogsKept { path },
                Err(e) => EnvironmentEvent::LogsLost {
                    error: e.to_string(),
                },
            },
        );
    }
    let id = short(&container.id).to_string();
    tell(
        out,
        match container.remove().await {
            Ok(()) => EnvironmentEvent::ContainerRemoved { id },
            Err(e) => EnvironmentEvent::RemovalFailed {
                error: e.to_string(),
            },
        },
    );
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
