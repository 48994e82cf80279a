//! stagegate takes a release of a government information system through four gated
//! stages (trial and real runs on the test environment, then on production).
//!
//! The modules follow the pipeline, one direction only, over a shared vocabulary
//! (`vocabulary`: stages, severity, check ids, targets): `config` → `plan` → `load`/`security` →
//! `measure` → `gate` → `ledger` → `report`. `run` drives one stage through that
//! pipeline and emits typed events; every output is a consumer of them. `cli` is the
//! only part that knows about the terminal and clap.

pub mod cli;
pub mod config;
pub mod evidence;
pub mod exit_code;
pub mod gate;
pub mod http_model;
pub mod identity;
pub mod ledger;
pub mod load;
pub mod measure;
pub mod metrics;
pub mod plan;
pub mod provision;
pub mod report;
/// The sample system (its own crate, so its container image is built from it alone).
pub use stagegate_sample as sample;
pub mod security;
/// The four stages (kept at this path: `crate::stage::StageId` is used everywhere).
pub use vocabulary::stage;
pub mod run;
pub mod shard;
pub mod template;
pub mod vocabulary;
