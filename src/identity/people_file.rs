//! Takes `people.toml` (in memory, with its path for errors), gives a [`Roster`] or every
//! mistake in it as located diagnostics: ids and names checked for invisible and
//! look-alike characters and normalised to NFC, roles checked, keys parsed (OpenSSH
//! format), a key held by two people or two ids that look alike refused.
//!
//! ```toml
//! version = 1
//!
//! [[person]]
//! id = "rm.binh"
//! name = "Trần Thị Bình"
//! roles = ["release-manager"]
//! keys = ["ssh-ed25519 AAAAC3Nz… binh@laptop"]
//! revoked-keys = []          # listed so old signatures stay attributed; may not sign
//! ```

use super::roster::{is_role_name, Person, Role, Roster, RosterKey};
use super::text_check;
use crate::config::diagnostic::{Diagnostics, SourceFile};
use serde::Deserialize;
use ssh_key::PublicKey;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// The file name, at the project root.
pub const FILE_NAME: &str = "people.toml";

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPeople {
    #[schemars(with = "u32")]
    version: Spanned<u32>,
    #[serde(default)]
    person: Vec<RawPerson>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawPerson {
    #[schemars(with = "String")]
    id: Spanned<String>,
    #[schemars(with = "String")]
    name: Spanned<String>,
    #[schemars(with = "Vec<String>")]
    roles: Spanned<Vec<Spanned<String>>>,
    #[schemars(with = "Vec<String>")]
    keys: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    revoked_keys: Vec<Spanned<String>>,
}

/// The JSON Schema of `people.toml`, from the types it is parsed with (see
/// [`crate::config::schema`]).
pub fn json_schema() -> schemars::Schema {
    schemars::schema_for!(RawPeople)
}
/// Parses `people.toml`; mistakes go to `diagnostics`.
pub fn parse(file: &SourceFile, diagnostics: &mut Diagnostics) -> Option<Roster> {
    let raw: RawPeople = file.parse_toml(diagnostics)?;
    let before = diagnostics.0.len();
    crate::config::check_version(file, &raw.version, diagnostics);
    if raw.person.is_empty() {
        diagnostics.push(file.whole_file(
            "people.toml names nobody",
            Some("at least one `[[person]]` with an id, a name, roles and keys".into()),
        ));
    }
    let mut people = Vec::new();
    // Where each id, skeleton and key was first seen, for the "already" errors.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut skeletons: BTreeMap<String, String> = BTreeMap::new();
    let mut key_owner: BTreeMap<String, String> = BTreeMap::new();
    for raw_person in &raw.person {
        if let Some(person) = parse_person(file, raw_person, diagnostics) {
            let mut ok = true;
            if let Some(first) = ids.get(&person.id) {
                diagnostics.push(file.diagnostic(
                    raw_person.id.span(),
                    format!("id `{}` is already used by `{first}`", person.id),
                    Some("one `[[person]]` per id".into()),
                ));
                ok = false;
            } else if let Some(first) = skeletons.get(&text_check::skeleton(&person.id)) {
                diagnostics.push(file.diagnostic(
                    value_span(file, raw_person.id.span()),
                    format!("id `{}` looks like `{first}`", person.id),
                    Some("ids that a reader can tell apart".into()),
                ));
                ok = false;
            }
            for (key, raw_key) in person.keys.iter().zip(
                raw_person
                    .keys
                    .get_ref()
                    .iter()
                    .chain(raw_person.revoked_keys.iter()),
            ) {
                if let Some(owner) = key_owner.get(&key.fingerprint) {
                    diagnostics.push(file.diagnostic(
                        raw_key.span(),
                        format!("key {} already belongs to `{owner}`", key.fingerprint),
                        Some("a key that belongs to one person only".into()),
                    ));
                    ok = false;
                } else {
                    key_owner.insert(key.fingerprint.clone(), person.id.clone());
                }
            }
            ids.insert(person.id.clone(), person.id.clone());
            skeletons.insert(text_check::skeleton(&person.id), person.id.clone());
            if ok {
                people.push(person);
            }
        }
    }
    if diagnostics.0.len() > before {
        return None;
    }
    Some(Roster::new(people))
}

/// The span of a string's text inside its quotes, so carets land on characters.
fn value_span(file: &SourceFile, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let text = file.text.get(span.clone()).unwrap_or("");
    if text.len() >= 2 && (text.starts_with('"') || text.starts_with('\'')) {
        span.start + 1..span.end - 1
    } else {
        span
    }
}

/// A diagnostic at the offending character of a checked string.
fn text_problem(
    file: &SourceFile,
    span: std::ops::Range<usize>,
    raw: &str,
    problem: &text_check::TextProblem,
    expected: &str,
) -> crate::config::diagnostic::Diagnostic {
    let inner = value_span(file, span);
    let quoted = file.text.get(inner.clone()).unwrap_or("");
    // Escapes (`\u200b`) make the file text differ from the value: then point at the value.
    let at = if quoted == raw {
        inner.start + problem.offset..inner.start + problem.offset + problem.len.max(1)
    } else {
        inner
    };
    file.diagnostic(at, problem.message.clone(), Some(expected.into()))
}

fn parse_person(
    file: &SourceFile,
    raw: &RawPerson,
    diagnostics: &mut Diagnostics,
) -> Option<Person> {
    let before = diagnostics.0.len();
    let id = match text_check::normalise_id(raw.id.get_ref()) {
        Ok(id) => Some(id),
        Err(problem) => {
            diagnostics.push(text_problem(
                file,
                raw.id.span(),
                raw.id.get_ref(),
                &problem,
                "an id of lowercase letters and digits of one script, `.`, `-`, `_` (like `rm.binh`)",
            ));
            None
        }
    };
    let name = match text_check::normalise_name(raw.name.get_ref()) {
        Ok(name) => Some(name),
        Err(problem) => {
            diagnostics.push(text_problem(
                file,
                raw.name.span(),
                raw.name.get_ref(),
                &problem,
                "a display name in one script, without invisible characters",
            ));
            None
        }
    };
    let mut roles = BTreeSet::new();
    for role in raw.roles.get_ref() {
        if is_role_name(role.get_ref()) {
            roles.insert(Role(role.get_ref().clone()));
        } else {
            diagnostics.push(file.diagnostic(
                role.span(),
                format!("`{}` is not a role name", role.get_ref()),
                Some("a kebab-case role such as `qa`, `release-manager`, `ops`".into()),
            ));
        }
    }
    if raw.roles.get_ref().is_empty() {
        diagnostics.push(file.diagnostic(
            raw.roles.span(),
            "a person needs at least one role",
            Some("`roles = [\"qa\"]`, `[\"release-manager\"]`, `[\"ops\"]`".into()),
        ));
    }
    if raw.keys.get_ref().is_empty() {
        diagnostics.push(file.diagnostic(
            raw.keys.span(),
            "a person needs at least one public key",
            Some("`keys = [\"ssh-ed25519 AAAA… comment\"]` (the line of a `.pub` file)".into()),
        ));
    }
    let mut keys = Vec::new();
    let all = raw
        .keys
        .get_ref()
        .iter()
        .map(|k| (k, false))
        .chain(raw.revoked_keys.iter().map(|k| (k, true)));
    for (text, revoked) in all {
        match PublicKey::from_openssh(text.get_ref().trim()) {
            Ok(key) => keys.push(RosterKey::new(&key, revoked)),
            Err(e) => diagnostics.push(file.diagnostic(
                text.span(),
                format!("not an OpenSSH public key ({e})"),
                Some("the line of a `.pub` file: `ssh-ed25519 AAAA… comment`".into()),
            )),
        }
    }
    if diagnostics.0.len() > before {
        return None;
    }
    Some(Person {
        id: id?,
        name: name?,
        roles,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINnCxrcwWhoOGkIaJ+n8Fntb2qkcdgF9Ec+Vwr1FU2BB a";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZyIOJxi01QnJjdClMw4n8OPL6aWVK4lOEMwX4ffaJd b";

    fn parse_text(text: &str) -> Result<Roster, String> {
        let file = SourceFile {
            path: "people.toml".into(),
            text: text.into(),
        };
        let mut diagnostics = Diagnostics::default();
        parse(&file, &mut diagnostics).ok_or_else(|| diagnostics.to_string())
    }

    fn person(id: &str, key: &str) -> String {
        format!("[[person]]\nid = \"{id}\"\nname = \"Trần Thị Bình\"\nroles = [\"release-manager\"]\nkeys = [\"{key}\"]\n")
    }

    #[test]
    fn a_roster_parses_with_vietnamese_names_and_looks_up_by_fingerprint() {
        let roster = parse_text(&format!(
            "version = 1\n{}{}",
            person("rm.binh", KEY_A),
            person("qa.an", KEY_B)
        ))
        .unwrap();
        assert_eq!(roster.people().len(), 2);
        let binh = roster.person("rm.binh").unwrap();
        assert_eq!(binh.name, "Trần Thị Bình");
        let fp = &binh.keys[0].fingerprint;
        assert!(fp.starts_with("SHA256:"), "{fp}");
        assert_eq!(roster.owner_of(fp).unwrap().person.id, "rm.binh");
        let again = Roster::from_json(&roster.to_json()).unwrap();
        assert_eq!(again.digest(), roster.digest());
        assert!(roster
            .allowed_signers()
            .starts_with("qa.an namespaces=\"stagegate\" ssh-ed25519 "));
    }

    #[test]
    fn a_cyrillic_letter_in_an_id_is_refused_at_its_column() {
        let text = format!("version = 1\n{}", person("rm.bi\u{0445}nh", KEY_A));
        let err = parse_text(&text).unwrap_err();
        assert!(err.contains("--> people.toml:3:12"), "{err}");
        assert!(err.contains("mixes scripts"), "{err}");
    }

    #[test]
    fn a_zero_width_space_a_look_alike_id_and_a_shared_key_are_refused() {
        let err = parse_text(&format!(
            "version = 1\n{}",
            person("rm.binh\u{200b}", KEY_A)
        ))
        .unwrap_err();
        assert!(
            err.contains("people.toml:3:14") && err.contains("zero-width space"),
            "{err}"
        );
        let err = parse_text(&format!(
            "version = 1\n{}{}",
            person("rm.binh", KEY_A),
            person("rm.bính", KEY_A)
        ))
        .unwrap_err();
        assert!(err.contains("already belongs to `rm.binh`"), "{err}");
        let err = parse_text(&format!(
            "version = 1\n{}{}",
            person("rm.l", KEY_A),
            person("rm.1", KEY_B)
        ))
        .unwrap_err();
        assert!(err.contains("id `rm.1` looks like `rm.l`"), "{err}");
    }

    #[test]
    fn an_id_written_decomposed_is_the_same_id_composed() {
        let nfd = "rm.tra\u{0302}\u{0300}n";
        let roster = parse_text(&format!("version = 1\n{}", person(nfd, KEY_A))).unwrap();
        assert!(roster.person("rm.trần").is_some());
        assert!(roster.person(nfd).is_some());
    }
}
