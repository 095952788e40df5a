//! The detached JWS that signs `kube-public/cluster-info` (§H.2): HS256 keyed with a bootstrap token's secret,
//! header `{"alg":"HS256","kid":"<token-id>"}`, payload = the exact `kubeconfig` string, serialized in compact
//! form with the payload part left out (`<header>..<signature>`).
//!
//! kube-controller-manager's bootstrapsigner writes these; a joining node recomputes the string from the token it
//! was given and compares (§H.3 step 4). The header bytes must be exactly kubeadm's, because the comparison is on
//! the whole string. Nothing here reads a clock or the network.

use aws_lc_rs::{constant_time, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use crate::Error;

/// The protected header for a token id, byte for byte as go-jose writes it (keys sorted, no whitespace).
fn header(token_id: &str) -> String {
    // a token id is [a-z0-9]{6}; anything else would need JSON escaping, which serde_json does for us
    let kid = serde_json::Value::String(token_id.to_string());
    format!("{{\"alg\":\"HS256\",\"kid\":{kid}}}")
}

/// Signs `content` with the token secret and returns the detached compact JWS `<b64url header>..<b64url sig>`.
pub fn sign_detached(content: &[u8], token_id: &str, token_secret: &str) -> String {
    let header_b64 = B64URL.encode(header(token_id));
    let signing_input = format!("{header_b64}.{}", B64URL.encode(content));
    let key = hmac::Key::new(hmac::HMAC_SHA256, token_secret.as_bytes());
    let tag = hmac::sign(&key, signing_input.as_bytes());
    format!("{header_b64}..{}", B64URL.encode(tag.as_ref()))
}

/// Checks a detached JWS over `content` by recomputing it with the token and comparing the two strings in
/// constant time (kubeadm compares the strings too, so a different but equivalent header is refused).
pub fn verify_detached(content: &[u8], detached: &str, token_id: &str, token_secret: &str) -> Result<(), Error> {
    let expected = sign_detached(content, token_id, token_secret);
    constant_time::verify_slices_are_equal(expected.as_bytes(), detached.as_bytes()).map_err(|_| {
        Error::Crypto(format!(
            "the detached JWS does not match the content signed with bootstrap token {token_id:?}: the content was \
             changed or it was signed with another token"
        ))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// §Q.2: the 194-byte cluster-info kubeconfig.
    const Q2_CONTENT: &str = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: TEST\n    server: https://10.0.0.1:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n";
    const Q2_JWS: &str = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..WcDGZZBV2XvtrAZVAMYhVh9ED-zpWf1osWuHpynMTV8";

    #[test]
    fn q2_vector_byte_for_byte() {
        assert_eq!(Q2_CONTENT.len(), 194);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, Q2_CONTENT.as_bytes());
        assert_eq!(hex::encode(digest.as_ref()), "1aa97582a6fad79546b1cea81de59506e5e1e08438bdda64731d2b39df853b3b");
        assert_eq!(sign_detached(Q2_CONTENT.as_bytes(), "abcdef", "0123456789abcdef"), Q2_JWS);
        assert_eq!(B64URL.encode(header("abcdef")), "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9");
        verify_detached(Q2_CONTENT.as_bytes(), Q2_JWS, "abcdef", "0123456789abcdef").unwrap();
    }

    #[test]
    fn tampering_is_refused() {
        let secret = "0123456789abcdef";
        let changed = Q2_CONTENT.replace("10.0.0.1", "10.0.0.2");
        assert!(verify_detached(changed.as_bytes(), Q2_JWS, "abcdef", secret).is_err());
        let mut sig = Q2_JWS.to_string();
        sig.replace_range(sig.len() - 1.., "9");
        assert!(verify_detached(Q2_CONTENT.as_bytes(), &sig, "abcdef", secret).is_err());
        // another token: other id, or same id with another secret
        let err = verify_detached(Q2_CONTENT.as_bytes(), Q2_JWS, "ghijkl", secret).unwrap_err();
        assert!(err.to_string().contains("\"ghijkl\""), "{err}");
        assert!(verify_detached(Q2_CONTENT.as_bytes(), Q2_JWS, "abcdef", "fedcba9876543210").is_err());
        // an attached (non-detached) JWS over the same content is not what the signer writes
        let attached = Q2_JWS.replacen("..", &format!(".{}.", B64URL.encode(Q2_CONTENT)), 1);
        assert!(verify_detached(Q2_CONTENT.as_bytes(), &attached, "abcdef", secret).is_err());
    }
}
