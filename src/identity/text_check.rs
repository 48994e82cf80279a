//! Takes a person's id or display name as written, gives it in Unicode NFC or says what
//! makes it unsafe to compare: invisible characters, characters from several scripts
//! (a Cyrillic `а` in a Latin id), characters outside the id alphabet.
//!
//! Why: ids decide who may approve. Two spellings that look the same to a reader must
//! either be the same id or be refused; `rm.tran`, `rm.tr\u{0430}n` and `rm.tran\u{200b}`
//! must never name three people.

use unicode_normalization::UnicodeNormalization;
use unicode_security::{GeneralSecurityProfile, MixedScript};

/// Why a name was refused, with the character's offset (bytes, in the text as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextProblem {
    /// Byte offset of the offending character in the original text.
    pub offset: usize,
    /// Byte length of that character.
    pub len: usize,
    /// What is wrong, lowercase.
    pub message: String,
}

/// An invisible or formatting character, named for the error message.
fn invisible(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{200b}' => "zero-width space U+200B",
        '\u{200c}' => "zero-width non-joiner U+200C",
        '\u{200d}' => "zero-width joiner U+200D",
        '\u{2060}' => "word joiner U+2060",
        '\u{feff}' => "zero-width no-break space U+FEFF",
        '\u{00ad}' => "soft hyphen U+00AD",
        '\u{00a0}' => "no-break space U+00A0",
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => "bidirectional control",
        c if c.is_control() => "control character",
        _ => return None,
    })
}

/// Checks and normalises a person id: letters and digits of one script, `.`, `-`, `_`;
/// no upper case (so `RM.Tran` cannot pass for `rm.tran`).
pub fn normalise_id(raw: &str) -> Result<String, TextProblem> {
    if raw.is_empty() {
        return Err(TextProblem {
            offset: 0,
            len: 0,
            message: "an id cannot be empty".into(),
        });
    }
    for (offset, c) in raw.char_indices() {
        let at = |message: String| TextProblem {
            offset,
            len: c.len_utf8(),
            message,
        };
        if let Some(name) = invisible(c) {
            return Err(at(format!("id contains an invisible character ({name})")));
        }
        if c.is_whitespace() {
            return Err(at("id contains white space".into()));
        }
        if c.is_uppercase() {
            return Err(at(format!("id contains the upper-case letter `{c}`")));
        }
        let allowed = c.is_alphanumeric() || matches!(c, '.' | '-' | '_');
        // Combining marks written separately (NFD) are fine: NFC below joins them.
        let combining = unicode_normalization::char::is_combining_mark(c);
        if !allowed && !combining {
            return Err(at(format!(
                "id contains `{c}` (U+{:04X}); ids use letters, digits, `.`, `-` and `_`",
                u32::from(c)
            )));
        }
        if !c.identifier_allowed() && c.is_alphabetic() {
            return Err(at(format!(
                "id contains `{c}` (U+{:04X}), a character Unicode marks as easily confused",
                u32::from(c)
            )));
        }
    }
    let nfc: String = raw.nfc().collect();
    check_single_script(raw, &nfc, "id")?;
    Ok(nfc)
}

/// Checks and normalises a display name: any letters of one script (Vietnamese
/// diacritics welcome), spaces and common punctuation; no invisible characters.
pub fn normalise_name(raw: &str) -> Result<String, TextProblem> {
    if raw.trim().is_empty() {
        return Err(TextProblem {
            offset: 0,
            len: 0,
            message: "a display name cannot be empty".into(),
        });
    }
    for (offset, c) in raw.char_indices() {
        if let Some(name) = invisible(c) {
            return Err(TextProblem {
                offset,
                len: c.len_utf8(),
                message: format!("display name contains an invisible character ({name})"),
            });
        }
    }
    let nfc: String = raw.nfc().collect();
    check_single_script(raw, &nfc, "display name")?;
    Ok(nfc)
}

/// Refuses text whose letters come from more than one script. The offending offset is
/// the first letter whose script does not fit the letters before it.
fn check_single_script(raw: &str, nfc: &str, what: &str) -> Result<(), TextProblem> {
    if nfc.is_single_script() {
        return Ok(());
    }
    let mut seen = String::new();
    for (offset, c) in raw.char_indices() {
        seen.push(c);
        if !seen.as_str().is_single_script() {
            return Err(TextProblem {
                offset,
                len: c.len_utf8(),
                message: format!(
                    "{what} mixes scripts at `{c}` (U+{:04X}): a letter that looks like another script's",
                    u32::from(c)
                ),
            });
        }
    }
    Err(TextProblem {
        offset: 0,
        len: raw.len(),
        message: format!("{what} mixes scripts"),
    })
}

/// The confusable skeleton of an id (UTS #39): two ids with the same skeleton look
/// alike to a reader and may not both exist.
pub fn skeleton(id: &str) -> String {
    unicode_security::skeleton(&id.to_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_ids_and_names_pass_and_are_normalised_to_nfc() {
        let nfd = "tr\u{0061}\u{0302}\u{0300}n"; // "trần" written decomposed
        assert_eq!(normalise_id(&format!("rm.{nfd}")).unwrap(), "rm.trần");
        assert_eq!(normalise_name("Trần Thị Bình").unwrap(), "Trần Thị Bình");
        assert_eq!(normalise_id("qa.an").unwrap(), "qa.an");
    }

    #[test]
    fn look_alike_spellings_are_refused_with_the_offending_character() {
        let cases = [
            ("rm.tr\u{0430}n", 5, "mixes scripts"),
            ("rm.tran\u{200b}", 7, "zero-width space"),
            ("RM.tran", 0, "upper-case"),
            ("rm tran", 2, "white space"),
            ("", 0, "empty"),
            ("rm.\u{202e}nart", 3, "bidirectional"),
        ];
        for (raw, offset, message) in cases {
            let problem = normalise_id(raw).unwrap_err();
            assert_eq!(problem.offset, offset, "{raw:?}: {problem:?}");
            assert!(problem.message.contains(message), "{raw:?}: {problem:?}");
        }
        assert!(normalise_name("Trần\u{200d}Bình").is_err());
        assert!(
            normalise_name("Тrần Bình").is_err(),
            "Cyrillic T in a Latin name"
        );
    }

    #[test]
    fn confusable_ids_share_a_skeleton() {
        assert_eq!(skeleton("rm.tran"), skeleton("rm.tr\u{0430}n"));
        assert_eq!(skeleton("rm.l"), skeleton("rm.1"));
        assert_ne!(skeleton("rm.tran"), skeleton("rm.binh"));
    }
}
