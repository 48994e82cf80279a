//! The demo's three people: makes an ed25519 key pair for each in the demo folder
//! (`keys/<id>`, `keys/<id>.pub`, no passphrase, no agent needed), writes their
//! `people.toml`, and gives the ledger actor that signs as one of them.

use crate::identity::{self, KeySource, Roster};
use crate::ledger::LedgerActor;
use ssh_key::{Algorithm, LineEnding, PrivateKey};
use std::path::{Path, PathBuf};

/// (id, display name, role) of the demo's people.
pub const PEOPLE: [(&str, &str, &str); 3] = [
    ("qa.nguyen-van-an", "Nguyễn Văn An", "qa"),
    ("rm.tran-thi-binh", "Trần Thị Bình", "release-manager"),
    ("rm.le-van-cuong", "Lê Văn Cường", "release-manager"),
];

/// The private key file of a demo person.
pub fn key_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("keys").join(id)
}

/// Makes the keys and `people.toml` in `dir`.
pub fn write(dir: &Path) -> Result<(), String> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).map_err(|e| format!("cannot create {}: {e}", keys.display()))?;
    let mut people = String::from(
        "# The demo's people: made by `stagegate demo`, keys in keys/ (demo only: no passphrase).\nversion = 1\n",
    );
    for (id, name, role) in PEOPLE {
        let key = PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519)
            .map_err(|e| format!("cannot make a key: {e}"))?;
        let mut key = key;
        key.set_comment(id);
        let path = key_path(dir, id);
        key.write_openssh_file(&path, LineEnding::LF)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| format!("cannot encode a key: {e}"))?;
        std::fs::write(format!("{}.pub", path.display()), format!("{public}\n"))
            .map_err(|e| format!("cannot write the public key: {e}"))?;
        people.push_str(&format!(
            "\n[[person]]\nid = \"{id}\"\nname = \"{name}\"\nroles = [\"{role}\"]\nkeys = [\"{public}\"]\n"
        ));
    }
    std::fs::write(dir.join(identity::people_file::FILE_NAME), people)
        .map_err(|e| format!("cannot write people.toml: {e}"))
}

/// The ledger actor signing as `id` with its key file.
pub fn actor(dir: &Path, roster: &Roster, id: &str) -> Result<LedgerActor, String> {
    let identity = identity::resolve(
        &KeySource {
            key_file: Some(key_path(dir, id)),
            agent_socket: None,
            claimed: Some(id.to_string()),
        },
        roster,
    )
    .map_err(|e| e.to_string())?;
    Ok(LedgerActor {
        identity,
        roster: roster.clone(),
    })
}
