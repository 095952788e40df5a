//! The detached JWS kube-controller-manager's bootstrapsigner writes into cluster-info (reference §H.2):
//! HS256 keyed with the token secret, protected header exactly `{"alg":"HS256","kid":"<id>"}`, payload removed
//! (`<header>..<signature>`). Implemented here so the fake does not borrow kbinit's own code for what it checks.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `jws-kubeconfig-<id>`'s value for `content` signed with token `<id>.<secret>`.
pub fn detached(token_id: &str, token_secret: &str, content: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"HS256","kid":"{token_id}"}}"#));
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(content));
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, token_secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, signing_input.as_bytes());
    format!("{header}..{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[cfg(test)]
mod tests {
    /// reference §Q.2
    #[test]
    fn detached_jws_matches_the_reference_vector() {
        let content = "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: TEST\n    server: \
                       https://10.0.0.1:6443\n  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\n\
                       preferences: {}\nusers: null\n";
        assert_eq!(content.len(), 194);
        assert_eq!(
            super::detached("abcdef", "0123456789abcdef", content),
            "eyJhbGciOiJIUzI1NiIsImtpZCI6ImFiY2RlZiJ9..WcDGZZBV2XvtrAZVAMYhVh9ED-zpWf1osWuHpynMTV8"
        );
    }
}
