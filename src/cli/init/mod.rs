//! `stagegate init <system>`: takes a system name and a project folder, gives a project
//! that validates at once: `environments/` (test and production), `scenarios/<system>/`
//! (a commented rollout for the four stages, a load suite, a security suite and a feeder
//! CSV) and `people.toml` with a key pair for a QA tester and a release manager under
//! `.stagegate/keys/` (kept out of git by `.gitignore`). The test environment points at
//! `stagegate sample-system --listen 127.0.0.1:18080`, so trial-test runs straight away.
//!
//! Files that already exist are kept (a second system reuses the environments and
//! people); an existing `scenarios/<system>/` is refused.

use super::CliError;
use crate::exit_code;
use crate::identity::people_file;
use clap::Args;
use ssh_key::{Algorithm, LineEnding, PrivateKey};
use std::path::{Path, PathBuf};

const TEST_ENV: &str = include_str!("test.toml");
const PRODUCTION_ENV: &str = include_str!("production.toml");
const ROLLOUT: &str = include_str!("rollout.toml");
const LOAD_SUITE: &str = include_str!("smoke.toml");
const SECURITY_SUITE: &str = include_str!("security-baseline.toml");
const FEEDER: &str = include_str!("search-terms.csv");

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The system's name: lowercase letters, digits and dashes (the folder under
    /// `scenarios/` and `system = ...` in its rollout).
    pub system: String,
    /// Id in people.toml of the QA tester who runs stages.
    #[arg(long, value_name = "ID", default_value = "qa.tester")]
    pub qa: String,
    /// Id in people.toml of the release manager who approves them.
    #[arg(long, value_name = "ID", default_value = "rm.manager")]
    pub release_manager: String,
}

/// One file to write: where, and what.
struct Planned {
    path: PathBuf,
    text: String,
}

pub(super) fn run(root: &Path, args: InitArgs) -> Result<u8, CliError> {
    check_name(&args.system).map_err(|e| CliError::invalid(format!("`{}` {e}", args.system)))?;
    for id in [&args.qa, &args.release_manager] {
        check_id(id).map_err(|e| CliError::invalid(format!("person id `{id}` {e}")))?;
    }
    let system_dir = root.join("scenarios").join(&args.system);
    if system_dir.exists() {
        return Err(CliError::invalid(format!(
            "`{}` already exists; init writes a new system only (hint: pick another name, or edit the files there)",
            system_dir.display()
        )));
    }
    match write_all(root, &args) {
        Ok(written) => {
            for path in &written {
                println!("created {}", path.display());
            }
            let key = root
                .join(".stagegate")
                .join("keys")
                .join(&args.qa)
                .display()
                .to_string();
            println!(
                "\nNext:\n  stagegate --root {root} validate\n  stagegate sample-system --listen 127.0.0.1:18080 &\n  stagegate --root {root} run {system} --release 1.0.0 --stage trial-test --key {key}",
                root = root.display(),
                system = args.system,
            );
            Ok(exit_code::OK)
        }
        Err(e) => Err(CliError::Internal(e)),
    }
}

fn write_all(root: &Path, args: &InitArgs) -> Result<Vec<PathBuf>, String> {
    let fill = |template: &str| {
        template.replace("{{system}}", &args.system).replace(
            "{{system_env}}",
            &args.system.to_uppercase().replace('-', "_"),
        )
    };
    let system_dir = root.join("scenarios").join(&args.system);
    let mut planned = vec![
        Planned {
            path: root.join("environments").join("test.toml"),
            text: fill(TEST_ENV),
        },
        Planned {
            path: root.join("environments").join("production.toml"),
            text: fill(PRODUCTION_ENV),
        },
        Planned {
            path: system_dir.join("rollout.toml"),
            text: fill(ROLLOUT),
        },
        Planned {
            path: system_dir.join("smoke.toml"),
            text: fill(LOAD_SUITE),
        },
        Planned {
            path: system_dir.join("security-baseline.toml"),
            text: fill(SECURITY_SUITE),
        },
        Planned {
            path: system_dir.join("data").join("search-terms.csv"),
            text: FEEDER.to_string(),
        },
        Planned {
            path: root.join(".gitignore"),
            text: "# Local state of stagegate: the ledger and private keys made by `stagegate init`.\n.stagegate/\n".into(),
        },
    ];
    let people_path = root.join(people_file::FILE_NAME);
    if !people_path.exists() {
        planned.push(Planned {
            path: people_path,
            text: people(root, args)?,
        });
    }
    let mut written = Vec::new();
    for file in planned.into_iter().filter(|f| !f.path.exists()) {
        if let Some(parent) = file.path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        std::fs::write(&file.path, file.text)
            .map_err(|e| format!("cannot write `{}`: {e}", file.path.display()))?;
        written.push(file.path);
    }
    Ok(written)
}

/// Makes a key pair for each person and gives the text of `people.toml`.
fn people(root: &Path, args: &InitArgs) -> Result<String, String> {
    let keys = root.join(".stagegate").join("keys");
    std::fs::create_dir_all(&keys)
        .map_err(|e| format!("cannot create `{}`: {e}", keys.display()))?;
    let mut text = String::from(
        "# Who may sign runs and decisions. Made by `stagegate init` with fresh keys in\n\
         # .stagegate/keys/ (no passphrase: replace them with your own keys, e.g. from\n\
         # ssh-keygen -t ed25519, and paste the public key here).\nversion = 1\n",
    );
    for (id, name, role) in [
        (&args.qa, "QA tester", "qa"),
        (&args.release_manager, "Release manager", "release-manager"),
    ] {
        let mut key = PrivateKey::random(&mut rand::rngs::OsRng, Algorithm::Ed25519)
            .map_err(|e| format!("cannot make a key: {e}"))?;
        key.set_comment(id.as_str());
        let path = keys.join(id);
        key.write_openssh_file(&path, LineEnding::LF)
            .map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| format!("cannot encode a key: {e}"))?;
        let public_path = keys.join(format!("{id}.pub"));
        std::fs::write(&public_path, format!("{public}\n"))
            .map_err(|e| format!("cannot write `{}`: {e}", public_path.display()))?;
        text.push_str(&format!(
            "\n[[person]]\nid = \"{id}\"\nname = \"{name}\"\nroles = [\"{role}\"]\nkeys = [\"{public}\"]\n"
        ));
    }
    Ok(text)
}

fn check_name(name: &str) -> Result<(), &'static str> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("is not a system name: use lowercase letters, digits and dashes, starting with a letter")
    }
}

fn check_id(id: &str) -> Result<(), &'static str> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'));
    if ok {
        Ok(())
    } else {
        Err("is not a person id: use lowercase letters, digits, `.`, `-` and `_`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(check_name("dichvucong").is_ok());
        assert!(check_name("van-ban-2").is_ok());
        assert!(check_name("Van").is_err());
        assert!(check_name("../x").is_err());
        assert!(check_name("").is_err());
        assert!(check_id("qa.tester").is_ok());
        assert!(check_id("qa tester").is_err());
    }
}
