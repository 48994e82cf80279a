//! The flags every signing command shares (`--as`, `--key`), and turning them, the
//! project's `people.toml` and `SSH_AUTH_SOCK` into a signing identity, with errors
//! printed and mapped to exit codes.

use crate::config::Project;
use crate::exit_code;
use crate::identity::{self, KeySource, Roster, SigningIdentity};
use crate::ledger::LedgerActor;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone)]
pub struct SignerArgs {
    /// Who you are, by id in people.toml. Optional: the key says who signs; when given,
    /// it must be the key's owner.
    #[arg(long = "as", value_name = "ID", env = "STAGEGATE_USER")]
    pub actor: Option<String>,
    /// The OpenSSH private key to sign with (or its `.pub` when ssh-agent holds the
    /// private key) [default: the key of yours that ssh-agent holds, via SSH_AUTH_SOCK].
    #[arg(long, value_name = "PATH", env = "STAGEGATE_KEY")]
    pub key: Option<PathBuf>,
}

impl SignerArgs {
    /// Where to look for the key.
    pub fn source(&self) -> KeySource {
        KeySource {
            key_file: self.key.clone(),
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            claimed: self.actor.clone(),
        }
    }
}

/// The project's roster, or the error printed with exit code 2.
pub fn roster(project: &Project) -> Result<Roster, u8> {
    project.roster.clone().ok_or_else(|| {
        eprintln!(
            "error: `{}` has no people.toml: runs and decisions are signed by the people it names (hint: see README, \"People and keys\")",
            project.root.join(identity::people_file::FILE_NAME).display()
        );
        exit_code::INVALID_INPUT
    })
}

/// Resolves the signing identity, printing why not: exit 3 for a key the roster refuses,
/// 2 for no usable key.
pub fn resolve(args: &SignerArgs, roster: &Roster) -> Result<SigningIdentity, u8> {
    identity::resolve(&args.source(), roster).map_err(|e| {
        eprintln!("error: {e}");
        if e.is_refusal() {
            exit_code::REFUSED
        } else {
            exit_code::INVALID_INPUT
        }
    })
}

/// The identity and roster as the ledger's actor.
pub fn actor(project: &Project, args: &SignerArgs) -> Result<LedgerActor, u8> {
    let roster = roster(project)?;
    let identity = resolve(args, &roster)?;
    Ok(LedgerActor { identity, roster })
}

/// `Trần Thị Bình (rm.binh, release-manager) key SHA256:…`.
pub fn describe(person: &identity::Person, fingerprint: &str) -> String {
    format!(
        "{} ({}, {}) key {fingerprint}",
        person.name,
        person.id,
        person.roles_text()
    )
}
