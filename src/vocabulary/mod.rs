//! Words every step of the pipeline shares and that belong to none of them: the four
//! stages, a finding's severity, the ids of the built-in security checks (and what each
//! needs from a suite), and the target a run sends to. It imports nothing from the crate
//! but the HTTP model's origins, so `config` can validate a suite against it and
//! `security` can key its catalogue by it without either importing the other, and no
//! folder imports one above it in the pipeline.

mod check_id;
pub mod severity;
pub mod stage;
pub mod target;

pub use check_id::{AccountNeed, CheckId, UnknownCheckId};
pub use severity::Severity;
pub use stage::StageId;
pub use target::Target;
