//! The flags every signing command shares (`--as`, `--key`), and turning them, the
//! project's `people.toml` and `SSH_AUTH_SOCK` into a signing identity, or the
//! command-line error saying why not.

use super::CliError;
use crate::config::Project;
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

/// The project's roster; invalid input when the project has no people.toml.
pub fn roster(project: &Project) -> Result<Roster, CliError> {
    project.roster.clone().ok_or_else(|| {
        CliError::invalid(format!(
            "`{}` has no people.toml: runs and decisions are signed by the people it names (hint: see README, \"People and keys\")",
            project.root.join(identity::people_file::FILE_NAME).display()
        ))
    })
}

/// Resolves the signing identity: refused (exit 3) for a key the roster refuses, invalid
/// (exit 2) for no usable key.
pub fn resolve(args: &SignerArgs, roster: &Roster) -> Result<SigningIdentity, CliError> {
    identity::resolve(&args.source(), roster).map_err(|e| {
        if e.is_refusal() {
            CliError::Refused(e.to_string())
        } else {
            CliError::invalid(e)
        }
    })
}

/// The identity and roster as the ledger's actor.
pub fn actor(project: &Project, args: &SignerArgs) -> Result<LedgerActor, CliError> {
    let roster = roster(project)?;
    let identity = resolve(args, &roster)?;
    Ok(LedgerActor { identity, roster })
}

/// `Trần Thị Bình (rm.binh, release-manager) key SHA256:…`, in the chosen language.
pub fn describe(person: &identity::Person, fingerprint: &str) -> String {
    (super::ui::words().cli.commands.signer)(
        &person.id,
        Some((&person.name, &person.roles_text())),
        fingerprint,
    )
}
