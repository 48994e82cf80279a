//! goose installs a global logger that prints to the terminal unless one exists.
//! stagegate owns the terminal, so it installs a logger first that keeps goose quiet.

use std::sync::Once;

struct Silent;

impl log::Log for Silent {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        false
    }
    fn log(&self, _: &log::Record<'_>) {}
    fn flush(&self) {}
}

static INSTALL: Once = Once::new();

/// Installs the silent logger once per process.
pub fn install() {
    INSTALL.call_once(|| {
        if log::set_boxed_logger(Box::new(Silent)).is_ok() {
            log::set_max_level(log::LevelFilter::Off);
        }
    });
}
