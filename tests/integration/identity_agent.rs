//! Issue 11: `approve` signs through OpenSSH's own `ssh-agent`, and a key with a
//! passphrase is usable only through it.

use crate::identity::{approve, path_str, project, public_key, run_trial, set_keys, ssh_keygen};
use crate::support::{run, stagegate, text, Sample, SYSTEM};
use std::path::PathBuf;
use std::process::Command;

/// OpenSSH's agent on a socket of its own, killed on drop.
struct Agent {
    pid: String,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

#[test]
fn issue_11_approve_signs_through_a_real_ssh_agent_and_a_passphrase_key_needs_it() {
    let sample = Sample::start(&[]);
    let project = project(&sample);
    let protected = project.path("keys/rm.cuong-protected");
    let passphrase = "mật khẩu của Cường";
    assert!(ssh_keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        passphrase,
        "-C",
        "rm.cuong",
        "-f",
        &path_str(&protected)
    ])
    .status
    .success());
    set_keys(&project, "rm.cuong", &[public_key(&protected)]);
    run_trial(&project);

    let out = approve(&project, &["--key", &path_str(&protected)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is protected by a passphrase and no ssh-agent holds it"),
        "{}",
        text(&out)
    );

    let socket = project.path("agent.sock");
    let started = Command::new("ssh-agent")
        .arg("-a")
        .arg(&socket)
        .arg("-s")
        .output()
        .expect("ssh-agent starts");
    let pid = String::from_utf8_lossy(&started.stdout)
        .split("SSH_AGENT_PID=")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .expect("agent pid")
        .to_string();
    let agent = Agent { pid, socket };
    let askpass = project.path("askpass.sh");
    std::fs::write(&askpass, format!("#!/bin/sh\necho '{passphrase}'\n")).expect("askpass");
    std::fs::set_permissions(
        &askpass,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let added = Command::new("ssh-add")
        .arg(&protected)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh-add");
    assert!(added.status.success(), "{}", text(&added));

    // No --key, no --as: the agent's key says who signs.
    let out = run(stagegate(project.root())
        .args([
            "approve",
            SYSTEM,
            "--release",
            "1.0.0",
            "--stage",
            "trial-test",
            "--note",
            "qua agent",
        ])
        .env("SSH_AUTH_SOCK", &agent.socket));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let fp = ssh_keygen(&[
        "-l",
        "-E",
        "sha256",
        "-f",
        &format!("{}.pub", path_str(&protected)),
    ]);
    let fp = String::from_utf8_lossy(&fp.stdout)
        .split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string();
    assert!(
        text(&out).contains(&format!(
            "signed by Lê Văn Cường (rm.cuong, release-manager) key {fp}"
        )),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("PROMOTED"), "{}", text(&out));
    let verify = run(stagegate(project.root()).args(["ledger", "verify"]));
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify));
}
