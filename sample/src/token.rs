//! The sample portal's login tokens: JWTs signed with HS256 (HMAC-SHA-256 over the
//! process's random key), carrying the citizen id, a role and an expiry. Verification
//! can be told to be lenient in the ways real systems get wrong (ignore the signature,
//! accept `alg: none`, ignore expiry), so the token checks have real flaws to find.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Citizen id.
    pub sub: String,
    /// `cong-dan` (citizen) or `can-bo` (officer).
    pub role: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

/// Ways verification may be wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct Leniency {
    /// Trust the claims without checking the signature.
    pub skip_signature: bool,
    /// Accept unsigned tokens that say `alg: none`.
    pub accept_alg_none: bool,
    /// Accept expired tokens.
    pub skip_expiry: bool,
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// A signed token.
pub fn issue(key: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signature =
        URL_SAFE_NO_PAD.encode(hmac_sha256(key, format!("{header}.{payload}").as_bytes()));
    format!("{header}.{payload}.{signature}")
}

/// The claims of a token that verifies at `now` (Unix seconds).
pub fn verify(key: &[u8], token: &str, now: i64, leniency: Leniency) -> Option<Claims> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header_json: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let claims: Claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let signed_ok = match header_json.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => {
            let expected = hmac_sha256(key, format!("{header}.{payload}").as_bytes());
            let given = URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
            given.len() == expected.len()
                && given
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        Some(alg) if alg.eq_ignore_ascii_case("none") => {
            leniency.accept_alg_none && signature.is_empty()
        }
        _ => false,
    };
    if !signed_ok && !leniency.skip_signature {
        return None;
    }
    if claims.exp <= now && !leniency.skip_expiry {
        return None;
    }
    Some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "001".into(),
            role: "cong-dan".into(),
            exp,
        }
    }

    #[test]
    fn strict_verification_refuses_forgeries_and_expiry() {
        let key = b"khoa";
        let token = issue(key, &claims(100));
        assert!(verify(key, &token, 50, Leniency::default()).is_some());
        assert!(verify(key, &token, 150, Leniency::default()).is_none());
        assert!(verify(
            key,
            &token,
            150,
            Leniency {
                skip_expiry: true,
                ..Leniency::default()
            }
        )
        .is_some());
        assert!(verify(b"khac", &token, 50, Leniency::default()).is_none());
        let parts: Vec<&str> = token.split('.').collect();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            parts[1]
        );
        assert!(verify(key, &none, 50, Leniency::default()).is_none());
        assert!(verify(
            key,
            &none,
            50,
            Leniency {
                accept_alg_none: true,
                ..Leniency::default()
            }
        )
        .is_some());
        // RFC 4231 test case 2.
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
