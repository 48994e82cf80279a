//! `stagegate validate`: load every file and report every mistake.

use crate::exit_code;
use std::path::Path;

pub(super) fn run(root: &Path) -> u8 {
    match super::load_project(root) {
        Ok(project) => {
            let suites: usize = project.systems.values().map(|s| s.suites.len()).sum();
            println!(
                "ok: {} environment(s), {} system(s), {} suite(s) valid",
                project.environments.len(),
                project.systems.len(),
                suites
            );
            exit_code::OK
        }
        Err(code) => code,
    }
}
