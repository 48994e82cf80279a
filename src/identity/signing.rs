//! Takes bytes to sign and a key (a private key file, or a key held by ssh-agent), gives
//! an OpenSSH SSHSIG signature (PROTOCOL.sshsig, armored `-----BEGIN SSH SIGNATURE-----`)
//! in the stagegate namespace; and checks such signatures against a public key, the same
//! check `ssh-keygen -Y verify` makes.

use super::agent::{Agent, AgentError};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

/// The SSHSIG namespace of every stagegate signature (`ssh-keygen -Y … -n stagegate`):
/// a signature made for git or for a file cannot be replayed as a decision.
pub const NAMESPACE: &str = "stagegate";

/// SHA-512, what `ssh-keygen -Y sign` uses; both are accepted when checking.
const HASH: HashAlg = HashAlg::Sha512;

/// Why a signature could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The agent failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The crypto library failed.
    #[error("cannot sign: {0}")]
    Crypto(String),
}

/// Why a signature does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    /// Not an armored SSHSIG.
    #[error("the signature is not an OpenSSH SSHSIG ({0})")]
    Unreadable(String),
    /// Another namespace.
    #[error("the signature is for namespace `{0}`, not `{NAMESPACE}`")]
    Namespace(String),
    /// Made by another key than the one named.
    #[error("the signature was made by another key ({0})")]
    OtherKey(String),
    /// The bytes do not match.
    #[error("the signature does not match the signed text")]
    Mismatch,
}

/// Something that signs with one key.
pub trait Signer: Send + Sync {
    /// The key that signs.
    fn public_key(&self) -> &PublicKey;
    /// Signs `message`; gives the armored SSHSIG text.
    fn sign(&self, message: &[u8]) -> Result<String, SignError>;
}

/// Signs with an unencrypted private key read from a file.
pub struct FileSigner {
    key: PrivateKey,
}

impl FileSigner {
    /// A signer for a decrypted private key.
    pub fn new(key: PrivateKey) -> FileSigner {
        FileSigner { key }
    }
}

impl Signer for FileSigner {
    fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        let sig = self
            .key
            .sign(NAMESPACE, HASH, message)
            .map_err(|e| SignError::Crypto(e.to_string()))?;
        armor(&sig)
    }
}

/// Signs through ssh-agent with one of the keys it holds.
pub struct AgentSigner {
    agent: Agent,
    key: PublicKey,
}

impl AgentSigner {
    /// A signer for `key`, which `agent` holds.
    pub fn new(agent: Agent, key: PublicKey) -> AgentSigner {
        AgentSigner { agent, key }
    }
}

impl Signer for AgentSigner {
    fn public_key(&self) -> &PublicKey {
        &self.key
    }

    fn sign(&self, message: &[u8]) -> Result<String, SignError> {
        let data = SshSig::signed_data(NAMESPACE, HASH, message)
            .map_err(|e| SignError::Crypto(e.to_string()))?;
        let signature = self.agent.sign(&self.key, &data)?;
        let sig = SshSig::new(self.key.key_data().clone(), NAMESPACE, HASH, signature)
            .map_err(|e| SignError::Crypto(e.to_string()))?;
        // An agent that signed with another key, or badly, is caught here rather than
        // in the ledger's verification.
        self.key
            .verify(NAMESPACE, message, &sig)
            .map_err(|e| SignError::Crypto(format!("the agent's signature does not check: {e}")))?;
        armor(&sig)
    }
}

fn armor(sig: &SshSig) -> Result<String, SignError> {
    sig.to_pem(LineEnding::LF)
        .map_err(|e| SignError::Crypto(e.to_string()))
}

/// The public key inside an armored signature (who claims to have signed).
pub fn signing_key(armored: &str) -> Result<PublicKey, BadSignature> {
    let sig = SshSig::from_pem(armored.trim().as_bytes())
        .map_err(|e| BadSignature::Unreadable(e.to_string()))?;
    Ok(PublicKey::new(sig.public_key().clone(), ""))
}

/// Checks that `armored` is a stagegate-namespace signature of `message` by `key`.
pub fn verify(key: &PublicKey, message: &[u8], armored: &str) -> Result<(), BadSignature> {
    let sig = SshSig::from_pem(armored.trim().as_bytes())
        .map_err(|e| BadSignature::Unreadable(e.to_string()))?;
    if sig.namespace() != NAMESPACE {
        return Err(BadSignature::Namespace(sig.namespace().to_string()));
    }
    if sig.public_key() != key.key_data() {
        let other = PublicKey::new(sig.public_key().clone(), "");
        return Err(BadSignature::OtherKey(super::roster::fingerprint(&other)));
    }
    key.verify(NAMESPACE, message, &sig)
        .map_err(|_| BadSignature::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519).unwrap()
    }

    #[test]
    fn a_signature_checks_and_any_change_breaks_it() {
        let k = key();
        let signer = FileSigner::new(k.clone());
        let sig = signer.sign(b"approve run 1").unwrap();
        assert!(sig.starts_with("-----BEGIN SSH SIGNATURE-----"));
        assert_eq!(verify(k.public_key(), b"approve run 1", &sig), Ok(()));
        assert_eq!(
            verify(k.public_key(), b"approve run 2", &sig),
            Err(BadSignature::Mismatch)
        );
        let other = key();
        assert!(matches!(
            verify(other.public_key(), b"approve run 1", &sig),
            Err(BadSignature::OtherKey(_))
        ));
        let git = k.sign("git", HASH, b"approve run 1").unwrap();
        let git = git.to_pem(LineEnding::LF).unwrap();
        assert_eq!(
            verify(k.public_key(), b"approve run 1", &git),
            Err(BadSignature::Namespace("git".into()))
        );
    }
}
