//! Takes the global flags (`--quiet`, `-v`, `--lang`, `--tz`), gives every command one
//! way to talk to a person: how much to say, in which language, and in colour only
//! where a person reads it.
//!
//! Colour follows anstream (the crates clap uses for its own help): styles are written
//! always, and the stream strips them when it is not a terminal, when `NO_COLOR` is set
//! (https://no-color.org), or when `TERM=dumb`; `CLICOLOR_FORCE=1` keeps them in a pipe.
//! The settings are process-wide because they are the process's: one command line, read
//! once at start, before any thread that prints.

use crate::report::i18n::{Lang, Messages};
use crate::report::local_time::ReportZone;
use anstyle::{AnsiColor, Style};
use clap::ValueEnum;
use std::io::Write;
use std::sync::OnceLock;

/// How much a command says on standard error besides its result and its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// `--quiet`: results and errors only; no progress, no informational lines.
    Quiet,
    /// Progress and what is being done.
    #[default]
    Normal,
    /// `-v`: also each criterion as it is judged and each security check's outcome.
    Verbose,
}

/// A language on the command line (`--lang`, `STAGEGATE_LANG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LangArg {
    /// English.
    #[default]
    En,
    /// Vietnamese (tiếng Việt).
    Vi,
}

impl From<LangArg> for Lang {
    fn from(lang: LangArg) -> Lang {
        match lang {
            LangArg::En => Lang::En,
            LangArg::Vi => Lang::Vi,
        }
    }
}

/// The settings of this process's command line.
#[derive(Debug, Clone, Default)]
pub struct Ui {
    /// How much to say.
    pub verbosity: Verbosity,
    /// Language of messages, the verdict table and reports.
    pub lang: Lang,
    /// The zone of local times in reports (`--tz`).
    pub zone: ReportZone,
}

static UI: OnceLock<Ui> = OnceLock::new();

/// Sets the settings once, from the parsed command line.
pub fn init(ui: Ui) {
    let _ = UI.set(ui);
}

/// The settings (the defaults before `init`, as in library tests).
pub fn get() -> &'static Ui {
    UI.get_or_init(Ui::default)
}

/// The catalogue of the chosen language.
pub fn words() -> &'static Messages {
    get().lang.messages()
}

/// Whether informational lines and progress are shown.
pub fn chatty() -> bool {
    get().verbosity >= Verbosity::Normal
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    get().verbosity >= Verbosity::Verbose
}

/// Styles of the few things that carry meaning in colour; the words say the same, so
/// nothing is lost without colour.
pub mod tone {
    use super::*;
    /// Passed, ok.
    pub const GOOD: Style = AnsiColor::Green.on_default();
    /// A warning.
    pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
    /// Failed, an error.
    pub const BAD: Style = AnsiColor::Red.on_default().bold();
    /// Less important detail.
    pub const DIM: Style = Style::new().dimmed();
}

/// `text` in `style` (stripped again by the stream when colour is off).
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Colours the `error:` and `warning:` prefixes of each line of a message, and their
/// words in the chosen language.
pub fn paint_prefixes(text: &str) -> String {
    let words = &words().cli.commands.errors;
    let bad = [
        "error:",
        words.error,
        words.refused,
        words.internal,
        words.diagnostic.error,
    ]
    .map(|prefix| (prefix, tone::BAD));
    let warn = ["warning:", words.warning].map(|prefix| (prefix, tone::WARN));
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let styled = bad.into_iter().chain(warn).find_map(|(prefix, style)| {
            trimmed
                .strip_prefix(prefix)
                .map(|rest| format!("{indent}{}{rest}", paint(style, prefix)))
        });
        out.push_str(&styled.unwrap_or_else(|| line.to_string()));
    }
    out
}

/// Writes an error or warning message on standard error, its prefixes in colour on a
/// terminal. Always shown, `--quiet` or not.
pub fn eprint_message(text: &str) {
    let mut err = anstream::stderr().lock();
    let text = paint_prefixes(text);
    let _ = if text.ends_with('\n') {
        write!(err, "{text}")
    } else {
        writeln!(err, "{text}")
    };
}

/// An informational line on standard error, unless `--quiet`.
pub fn info(text: &str) {
    if chatty() {
        eprint_message(text);
    }
}

/// A verdict as the terminal table, in the chosen language, results in colour.
pub fn verdict_table(verdict: &crate::gate::GateVerdict) -> String {
    use crate::gate::CriterionStatus;
    crate::report::verdict_table(verdict, words(), &|status, text| {
        let style = match status {
            CriterionStatus::Pass => tone::GOOD,
            CriterionStatus::Warn => tone::WARN,
            CriterionStatus::Fail => tone::BAD,
        };
        paint(style, text)
    })
}

/// A result on standard output (colour stripped where it is not wanted).
pub fn out(text: &str) {
    let mut out = anstream::stdout().lock();
    let _ = writeln!(out, "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_painted_and_the_rest_is_kept() {
        let painted = paint_prefixes("error: bad\n  --> f.toml:1:2\n  warning: w");
        let plain = anstream::adapter::strip_str(&painted).to_string();
        assert_eq!(plain, "error: bad\n  --> f.toml:1:2\n  warning: w");
        assert!(painted.contains("\x1b["), "{painted:?}");
    }
}
