//! stagegate takes a release of a government information system through four gated
//! stages (trial and real runs on the test environment, then on production).
//!
//! The modules follow the pipeline, one direction only:
//! `config` → `plan` → `load`/`security` (run) → `measure` → `gate` → `ledger` → `report`.
//! `stage_run` wires one stage run through that pipeline; `cli` is the only part that
//! knows about the terminal and clap.

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
pub mod sample;
pub mod security;
pub mod stage;
pub mod stage_run;
pub mod template;
pub mod vocabulary;
