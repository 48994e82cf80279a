//! Takes `people.toml` and a key (a file, or ssh-agent), gives who is acting and their
//! signatures: the roster of people with their roles and public keys, SSHSIG signing and
//! checking in the stagegate namespace, and the ssh-agent client. Knows nothing of the
//! ledger; the ledger asks it whether a signature is good and whose key made it.

pub mod agent;
pub mod key_source;
pub mod people_file;
pub mod roster;
pub mod signing;
pub mod text_check;

pub use key_source::{resolve, IdentityError, KeySource, SigningIdentity};
pub use roster::{fingerprint, Person, Role, Roster, RosterKey};
pub use signing::{Signer, NAMESPACE};
