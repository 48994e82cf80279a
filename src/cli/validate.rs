//! `stagegate validate`: load every file and report every mistake.

use crate::exit_code;
use std::path::Path;

pub(super) fn run(root: &Path) -> u8 {
    match super::load_project(root) {
        Ok(project) => {
            let suites: usize = project.systems.values().map(|s| s.suites.len()).sum();
            for system in project.systems.values() {
                for (stage, spec) in &system.rollout.stages {
                    let ran = spec.suites.iter().filter_map(|n| system.suites.get(n));
                    for w in crate::gate::coverage::unread_suites(&spec.gate, ran) {
                        println!("warning: {} stage {stage}: {w}", system.rollout.system);
                    }
                    let ran = spec.suites.iter().filter_map(|n| system.suites.get(n));
                    for c in crate::gate::coverage::implied_by_security(&spec.gate, ran) {
                        println!(
                            "note: {} stage {stage}: no security criterion, judged by {c}",
                            system.rollout.system
                        );
                    }
                }
            }
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
