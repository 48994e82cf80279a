//! The labels every series of a stage run carries.

/// Label names, in the order of [`RunLabels::values`].
pub(super) const RUN_LABELS: [&str; 4] = ["system", "release", "stage", "environment"];

/// The labels of the run in progress.
#[derive(Debug, Clone, Default)]
pub(super) struct RunLabels {
    pub(super) system: String,
    pub(super) release: String,
    pub(super) stage: String,
    pub(super) environment: String,
}

impl RunLabels {
    pub(super) fn values(&self) -> [&str; 4] {
        [&self.system, &self.release, &self.stage, &self.environment]
    }
}
