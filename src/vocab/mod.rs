//! The shared vocabulary of the pipeline: small types that several folders speak and
//! that depend on nothing above them — the four stages, a finding's severity, where
//! traffic goes. Every folder may import these; these import no folder.

pub mod severity;
pub mod stage;
pub mod target;

pub use severity::Severity;
pub use stage::StageId;
pub use target::Target;
