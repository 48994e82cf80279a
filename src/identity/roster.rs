//! Takes validated people (from `people.toml`, or from the copy a ledger pinned), gives
//! the [`Roster`]: who holds which key and which roles, looked up by key fingerprint,
//! with a digest that names this exact roster and an OpenSSH `allowed_signers` text.

use super::signing::NAMESPACE;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ssh_key::{HashAlg, PublicKey};
use std::collections::BTreeSet;
use std::fmt;

/// A role a person holds (`qa`, `release-manager`, `ops`, or any other kebab-case word a
/// project uses).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Role(pub String);

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is a well-formed role name: lowercase ASCII words joined by `-`.
pub fn is_role_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// One public key of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterKey {
    /// The key, without its comment.
    pub key: PublicKey,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// A revoked key stays listed (so old signatures are attributed) but may not sign.
    pub revoked: bool,
}

impl RosterKey {
    /// A roster entry for `key`.
    pub fn new(key: &PublicKey, revoked: bool) -> RosterKey {
        let key = PublicKey::new(key.key_data().clone(), "");
        RosterKey {
            fingerprint: fingerprint(&key),
            key,
            revoked,
        }
    }
}

/// `SHA256:…` of a public key.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// One person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The id, NFC, checked against look-alikes.
    pub id: String,
    /// The display name, NFC (Vietnamese diacritics kept).
    pub name: String,
    /// Roles held.
    pub roles: BTreeSet<Role>,
    /// Keys, at least one.
    pub keys: Vec<RosterKey>,
}

impl Person {
    /// Whether the person holds `role`.
    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.contains(role)
    }

    /// The roles as `qa, ops`.
    pub fn roles_text(&self) -> String {
        self.roles
            .iter()
            .map(|r| r.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Who may sign, and with which roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    people: Vec<Person>,
    digest: String,
}

/// What a key lookup found.
#[derive(Debug, Clone, Copy)]
pub struct KeyOwner<'a> {
    /// The person.
    pub person: &'a Person,
    /// Their key.
    pub key: &'a RosterKey,
}

/// The pinned form of a roster: what the ledger stores and hashes.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PinnedRoster {
    format: String,
    people: Vec<PinnedPerson>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PinnedPerson {
    id: String,
    name: String,
    roles: Vec<String>,
    keys: Vec<String>,
    #[serde(rename = "revoked-keys")]
    revoked_keys: Vec<String>,
}

/// The pinned roster's format name.
const PINNED_FORMAT: &str = "stagegate.roster/v1";

/// Why a pinned roster could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("pinned roster cannot be read: {0}")]
pub struct PinnedRosterError(String);

impl Roster {
    /// A roster of validated people (ids unique, keys unique: `people_file` checks).
    pub fn new(mut people: Vec<Person>) -> Roster {
        people.sort_by(|a, b| a.id.cmp(&b.id));
        let mut roster = Roster {
            people,
            digest: String::new(),
        };
        roster.digest = hex::encode(Sha256::digest(roster.to_json().as_bytes()));
        roster
    }

    /// Everyone, by id.
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    /// SHA-256 (hex) of [`Roster::to_json`]: names this exact roster.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The person with exactly this id (after NFC normalisation of `id`).
    pub fn person(&self, id: &str) -> Option<&Person> {
        let id: String = unicode_normalization::UnicodeNormalization::nfc(id).collect();
        self.people.iter().find(|p| p.id == id)
    }

    /// The owner of the key with this fingerprint.
    pub fn owner_of(&self, fingerprint: &str) -> Option<KeyOwner<'_>> {
        self.people.iter().find_map(|person| {
            person
                .keys
                .iter()
                .find(|k| k.fingerprint == fingerprint)
                .map(|key| KeyOwner { person, key })
        })
    }

    /// Every role someone holds.
    pub fn roles(&self) -> BTreeSet<&Role> {
        self.people.iter().flat_map(|p| p.roles.iter()).collect()
    }

    /// The canonical JSON the ledger pins (compact, people by id, keys as written
    /// without comments).
    pub fn to_json(&self) -> String {
        let pinned = PinnedRoster {
            format: PINNED_FORMAT.into(),
            people: self
                .people
                .iter()
                .map(|p| PinnedPerson {
                    id: p.id.clone(),
                    name: p.name.clone(),
                    roles: p.roles.iter().map(|r| r.0.clone()).collect(),
                    keys: openssh_of(p.keys.iter().filter(|k| !k.revoked)),
                    revoked_keys: openssh_of(p.keys.iter().filter(|k| k.revoked)),
                })
                .collect(),
        };
        serde_json::to_string(&pinned).unwrap_or_default()
    }

    /// Reads back a roster pinned by [`Roster::to_json`].
    pub fn from_json(json: &str) -> Result<Roster, PinnedRosterError> {
        let pinned: PinnedRoster =
            serde_json::from_str(json).map_err(|e| PinnedRosterError(e.to_string()))?;
        if pinned.format != PINNED_FORMAT {
            return Err(PinnedRosterError(format!(
                "unknown format `{}`",
                pinned.format
            )));
        }
        let mut people = Vec::new();
        for p in pinned.people {
            let mut keys = Vec::new();
            for (text, revoked) in p
                .keys
                .iter()
                .map(|k| (k, false))
                .chain(p.revoked_keys.iter().map(|k| (k, true)))
            {
                let key = PublicKey::from_openssh(text)
                    .map_err(|e| PinnedRosterError(format!("key of `{}`: {e}", p.id)))?;
                keys.push(RosterKey::new(&key, revoked));
            }
            people.push(Person {
                id: p.id,
                name: p.name,
                roles: p.roles.into_iter().map(Role).collect(),
                keys,
            });
        }
        Ok(Roster::new(people))
    }

    /// An OpenSSH `allowed_signers` file: one line per valid key, the person's id as
    /// principal, restricted to the stagegate namespace. Revoked keys are left out.
    pub fn allowed_signers(&self) -> String {
        let mut out = String::new();
        for person in &self.people {
            for key in person.keys.iter().filter(|k| !k.revoked) {
                if let Ok(text) = key.key.to_openssh() {
                    out.push_str(&format!(
                        "{} namespaces=\"{NAMESPACE}\" {}\n",
                        person.id,
                        text.trim()
                    ));
                }
            }
        }
        out
    }
}

fn openssh_of<'a>(keys: impl Iterator<Item = &'a RosterKey>) -> Vec<String> {
    keys.filter_map(|k| k.key.to_openssh().ok())
        .map(|s| s.trim().to_string())
        .collect()
}
