//! Takes the path of an ssh-agent socket (`SSH_AUTH_SOCK`), gives the keys the agent
//! holds and signatures made by it: the client side of the agent protocol
//! (draft-miller-ssh-agent), the two requests a signer needs and nothing more.
//!
//! Why our own client: it is two messages over a Unix socket; the crates that offer it
//! bring an async runtime or a server we do not need. Tests check it against OpenSSH's
//! own `ssh-agent`.

use ssh_key::Signature;
use ssh_key::{Algorithm, PublicKey};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SSH_AGENT_FAILURE: u8 = 5;
const SSH_AGENTC_REQUEST_IDENTITIES: u8 = 11;
const SSH_AGENT_IDENTITIES_ANSWER: u8 = 12;
const SSH_AGENTC_SIGN_REQUEST: u8 = 13;
const SSH_AGENT_SIGN_RESPONSE: u8 = 14;
/// Asks for `rsa-sha2-512`, the RSA signature SSHSIG uses (ignored for other keys).
const SSH_AGENT_RSA_SHA2_512: u32 = 4;
/// An agent answers at once, or asks its user to confirm (`ssh-add -c`): long enough for
/// a person to click, short enough that a stuck agent does not hang a CI job.
const AGENT_TIMEOUT: Duration = Duration::from_secs(60);
/// No agent reply is anywhere near this; a bigger length means a broken socket.
const MAX_REPLY: usize = 256 * 1024;

/// What went wrong talking to the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The socket could not be used.
    #[error("cannot talk to ssh-agent at `{path}`: {source}")]
    Io {
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The agent refused or answered nonsense.
    #[error("ssh-agent at `{path}` {what}")]
    Protocol {
        /// The socket.
        path: PathBuf,
        /// What happened.
        what: String,
    },
}

/// A connection to an agent.
#[derive(Debug, Clone)]
pub struct Agent {
    path: PathBuf,
}

impl Agent {
    /// The agent at `path` (connected per request, like `ssh-add`).
    pub fn new(path: &Path) -> Agent {
        Agent {
            path: path.to_path_buf(),
        }
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every key the agent holds.
    pub fn identities(&self) -> Result<Vec<PublicKey>, AgentError> {
        let reply = self.request(&[SSH_AGENTC_REQUEST_IDENTITIES])?;
        let mut r = Reader(&reply);
        if r.byte()? != SSH_AGENT_IDENTITIES_ANSWER {
            return Err(self.protocol("refused to list its keys"));
        }
        let count = r.u32()?;
        let mut keys = Vec::new();
        for _ in 0..count {
            let blob = r.string()?;
            let comment = String::from_utf8_lossy(r.string()?).into_owned();
            // Keys of kinds this build cannot read (certificates, security keys) are
            // skipped: they cannot be in a roster either.
            if let Ok(key) = PublicKey::from_bytes(blob) {
                keys.push(PublicKey::new(key.key_data().clone(), comment));
            }
        }
        Ok(keys)
    }

    /// Signs `data` with the agent's key `key`.
    pub fn sign(&self, key: &PublicKey, data: &[u8]) -> Result<Signature, AgentError> {
        let blob = key
            .to_bytes()
            .map_err(|e| self.protocol(&format!("key cannot be encoded: {e}")))?;
        let mut msg = vec![SSH_AGENTC_SIGN_REQUEST];
        put_string(&mut msg, &blob);
        put_string(&mut msg, data);
        let flags = if matches!(key.algorithm(), Algorithm::Rsa { .. }) {
            SSH_AGENT_RSA_SHA2_512
        } else {
            0
        };
        msg.extend_from_slice(&flags.to_be_bytes());
        let reply = self.request(&msg)?;
        let mut r = Reader(&reply);
        match r.byte()? {
            SSH_AGENT_SIGN_RESPONSE => {}
            SSH_AGENT_FAILURE => {
                return Err(self.protocol(
                    "refused to sign (is the key still loaded, or was confirmation denied?)",
                ))
            }
            other => {
                return Err(self.protocol(&format!("answered message {other} to a sign request")))
            }
        }
        let sig = r.string()?;
        Signature::try_from(sig)
            .map_err(|e| self.protocol(&format!("returned an unreadable signature: {e}")))
    }

    fn protocol(&self, what: &str) -> AgentError {
        AgentError::Protocol {
            path: self.path.clone(),
            what: what.to_string(),
        }
    }

    fn request(&self, body: &[u8]) -> Result<Vec<u8>, AgentError> {
        let io = |source| AgentError::Io {
            path: self.path.clone(),
            source,
        };
        let mut stream = UnixStream::connect(&self.path).map_err(io)?;
        stream.set_read_timeout(Some(AGENT_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(AGENT_TIMEOUT)).map_err(io)?;
        let mut framed = Vec::with_capacity(body.len() + 4);
        framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
        framed.extend_from_slice(body);
        stream.write_all(&framed).map_err(io)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).map_err(io)?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_REPLY {
            return Err(self.protocol(&format!("sent a reply of {len} bytes")));
        }
        let mut reply = vec![0u8; len];
        stream.read_exact(&mut reply).map_err(io)?;
        Ok(reply)
    }
}

fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads SSH wire types from a reply.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AgentError> {
        if self.0.len() < n {
            return Err(AgentError::Protocol {
                path: PathBuf::new(),
                what: "sent a truncated reply".into(),
            });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, AgentError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, AgentError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self) -> Result<&'a [u8], AgentError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// OpenSSH's own agent, killed on drop.
    struct RealAgent {
        pid: String,
        socket: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Drop for RealAgent {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg(&self.pid).status();
        }
    }

    fn start_agent() -> RealAgent {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("agent.sock");
        let out = Command::new("ssh-agent")
            .arg("-a")
            .arg(&socket)
            .arg("-s")
            .output()
            .expect("ssh-agent runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|s| s.split(';').next())
            .expect("agent pid")
            .to_string();
        RealAgent {
            pid,
            socket,
            _dir: dir,
        }
    }

    #[test]
    fn openssh_agent_lists_its_key_and_signs_an_sshsig_that_checks() {
        let agent_proc = start_agent();
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("id");
        assert!(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "agent-test", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success());
        let agent = Agent::new(&agent_proc.socket);
        assert!(agent.identities().unwrap().is_empty());
        assert!(Command::new("ssh-add")
            .arg("-q")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &agent_proc.socket)
            .status()
            .unwrap()
            .success());
        let held = agent.identities().unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].comment(), "agent-test");
        let signer = crate::identity::signing::AgentSigner::new(agent, held[0].clone());
        let sig = crate::identity::Signer::sign(&signer, b"payload").unwrap();
        crate::identity::signing::verify(&held[0], b"payload", &sig).unwrap();
    }
}
