//! Takes where a key may be (`--key PATH` / `STAGEGATE_KEY`, or ssh-agent through
//! `SSH_AUTH_SOCK`), the roster and an optional `--as`, gives the [`SigningIdentity`]:
//! the person the key belongs to and a signer for it. Identity comes from the key;
//! `--as` only has to agree with it.

use super::agent::{Agent, AgentError};
use super::roster::{fingerprint, Person, Roster};
use super::signing::{AgentSigner, FileSigner, Signer};
use ssh_key::{PrivateKey, PublicKey};
use std::path::{Path, PathBuf};

/// Where to look for the key.
#[derive(Debug, Clone, Default)]
pub struct KeySource {
    /// An OpenSSH private key file (or its `.pub`, when the agent holds the private key).
    pub key_file: Option<PathBuf>,
    /// The agent's socket.
    pub agent_socket: Option<PathBuf>,
    /// The person the caller says they are.
    pub claimed: Option<String>,
}

/// Why no identity could be established.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Nowhere to find a key.
    #[error("no signing key: every decision is signed (hint: `--key ~/.ssh/id_ed25519`, `STAGEGATE_KEY=PATH`, or load your key into ssh-agent so `SSH_AUTH_SOCK` finds it)")]
    NoKey,
    /// The key file cannot be read.
    #[error("cannot read the key `{path}`: {reason}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key file is passphrase-protected and no agent holds it.
    #[error("the key `{path}` is protected by a passphrase and no ssh-agent holds it (hint: `ssh-add {path}` with `SSH_AUTH_SOCK` set; stagegate never asks for passphrases)")]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// The agent failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The agent holds no key of anyone in the roster.
    #[error("ssh-agent at `{socket}` holds {held} key(s), none of them in people.toml (hint: `ssh-add` your key, or pass `--key PATH`)")]
    AgentHasNoRosterKey {
        /// The socket.
        socket: PathBuf,
        /// How many keys it holds.
        held: usize,
    },
    /// The agent holds keys of several people and `--as` did not choose.
    #[error("ssh-agent holds keys of several people ({people}) (hint: `--as ID` chooses one)")]
    Ambiguous {
        /// Their ids.
        people: String,
    },
    /// The key is in nobody's entry.
    #[error("key {fingerprint} is not in people.toml: an unknown key cannot sign decisions")]
    UnknownKey {
        /// The key.
        fingerprint: String,
    },
    /// The key was revoked.
    #[error("key {fingerprint} of {person} is revoked in people.toml")]
    Revoked {
        /// The key.
        fingerprint: String,
        /// Whose it was.
        person: String,
    },
    /// `--as` names someone else than the key's owner.
    #[error("`--as {claimed}` does not match the key: {fingerprint} belongs to {owner}")]
    NotTheOwner {
        /// What `--as` said.
        claimed: String,
        /// The key.
        fingerprint: String,
        /// Whose it is.
        owner: String,
    },
    /// `--as` names nobody.
    #[error("`--as {claimed}`: nobody with that id in people.toml{hint}")]
    UnknownPerson {
        /// What `--as` said.
        claimed: String,
        /// A look-alike id, when there is one.
        hint: String,
    },
}

impl IdentityError {
    /// Whether the rules refused the identity (exit 3), rather than it not being usable
    /// at all (a missing or unreadable key: exit 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            IdentityError::UnknownKey { .. }
                | IdentityError::Revoked { .. }
                | IdentityError::NotTheOwner { .. }
                | IdentityError::UnknownPerson { .. }
                | IdentityError::AgentHasNoRosterKey { .. }
        )
    }
}

/// A person and a way to sign as them.
pub struct SigningIdentity {
    /// Who, as the roster says.
    pub person: Person,
    /// `SHA256:…` of the key that signs.
    pub fingerprint: String,
    /// The signer.
    pub signer: Box<dyn Signer>,
}

impl std::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningIdentity({}, {})",
            self.person.id, self.fingerprint
        )
    }
}

/// Finds the key and its owner.
pub fn resolve(source: &KeySource, roster: &Roster) -> Result<SigningIdentity, IdentityError> {
    if let Some(claimed) = &source.claimed {
        if roster.person(claimed).is_none() {
            let skeleton = super::text_check::skeleton(claimed);
            let hint = roster
                .people()
                .iter()
                .find(|p| super::text_check::skeleton(&p.id) == skeleton)
                .map(|p| format!(" (`{}` looks like it, but ids must match exactly)", p.id))
                .unwrap_or_default();
            return Err(IdentityError::UnknownPerson {
                claimed: claimed.clone(),
                hint,
            });
        }
    }
    let agent = source.agent_socket.as_deref().map(Agent::new);
    let signer: Box<dyn Signer> = match &source.key_file {
        Some(path) => from_file(path, agent.as_ref())?,
        None => match &agent {
            Some(agent) => from_agent(agent, roster, source.claimed.as_deref())?,
            None => return Err(IdentityError::NoKey),
        },
    };
    let key = signer.public_key().clone();
    let fp = fingerprint(&key);
    let owner = roster
        .owner_of(&fp)
        .ok_or_else(|| IdentityError::UnknownKey {
            fingerprint: fp.clone(),
        })?;
    if owner.key.revoked {
        return Err(IdentityError::Revoked {
            fingerprint: fp,
            person: owner.person.id.clone(),
        });
    }
    if let Some(claimed) = &source.claimed {
        let claimed_person = roster.person(claimed).map(|p| p.id.as_str());
        if claimed_person != Some(owner.person.id.as_str()) {
            return Err(IdentityError::NotTheOwner {
                claimed: claimed.clone(),
                fingerprint: fp,
                owner: owner.person.id.clone(),
            });
        }
    }
    Ok(SigningIdentity {
        person: owner.person.clone(),
        fingerprint: fp,
        signer,
    })
}

fn from_file(path: &Path, agent: Option<&Agent>) -> Result<Box<dyn Signer>, IdentityError> {
    let text = std::fs::read_to_string(path).map_err(|e| IdentityError::KeyFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    // A public key file names a key the agent must hold (like git's `user.signingkey`).
    let (public, private) = match PrivateKey::from_openssh(text.trim()) {
        Ok(private) if private.is_encrypted() => (private.public_key().clone(), None),
        Ok(private) => (private.public_key().clone(), Some(private)),
        Err(private_err) => match PublicKey::from_openssh(text.trim()) {
            Ok(public) => (public, None),
            Err(_) => {
                return Err(IdentityError::KeyFile {
                    path: path.to_path_buf(),
                    reason: format!("not an OpenSSH private or public key ({private_err})"),
                })
            }
        },
    };
    if let Some(private) = private {
        return Ok(Box::new(FileSigner::new(private)));
    }
    let held = match agent {
        Some(agent) => agent.identities()?,
        None => Vec::new(),
    };
    match (
        agent,
        held.iter().find(|k| k.key_data() == public.key_data()),
    ) {
        (Some(agent), Some(key)) => Ok(Box::new(AgentSigner::new(agent.clone(), key.clone()))),
        _ => Err(IdentityError::Encrypted {
            path: path.to_path_buf(),
        }),
    }
}

fn from_agent(
    agent: &Agent,
    roster: &Roster,
    claimed: Option<&str>,
) -> Result<Box<dyn Signer>, IdentityError> {
    let held = agent.identities()?;
    let mut candidates: Vec<(String, PublicKey)> = held
        .iter()
        .filter_map(|k| {
            let owner = roster.owner_of(&fingerprint(k))?;
            (!owner.key.revoked).then(|| (owner.person.id.clone(), k.clone()))
        })
        .collect();
    if let Some(claimed) = claimed.and_then(|c| roster.person(c)) {
        if let Some(found) = candidates.iter().find(|(id, _)| *id == claimed.id) {
            return Ok(Box::new(AgentSigner::new(agent.clone(), found.1.clone())));
        }
        // The agent holds none of this person's keys: sign with the first roster key it
        // has, and let the owner check say whose it is.
    }
    candidates.dedup_by(|a, b| a.0 == b.0);
    let mut people: Vec<&str> = candidates.iter().map(|(id, _)| id.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    match (people.len(), candidates.first()) {
        (0, _) | (_, None) => Err(IdentityError::AgentHasNoRosterKey {
            socket: agent.path().to_path_buf(),
            held: held.len(),
        }),
        (1, Some((_, key))) => Ok(Box::new(AgentSigner::new(agent.clone(), key.clone()))),
        _ if claimed.is_some() => candidates
            .first()
            .map(|(_, key)| {
                Box::new(AgentSigner::new(agent.clone(), key.clone())) as Box<dyn Signer>
            })
            .ok_or(IdentityError::NoKey),
        _ => Err(IdentityError::Ambiguous {
            people: people.join(", "),
        }),
    }
}
