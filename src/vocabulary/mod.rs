//! Words every step of the pipeline shares and that belong to none of them: the ids of
//! the built-in security checks (and what each needs from a suite). It imports nothing
//! from the crate, so `config` can validate a suite against it and `security` can key
//! its catalogue by it without either importing the other.

mod check_id;

pub use check_id::{AccountNeed, CheckId, UnknownCheckId};
