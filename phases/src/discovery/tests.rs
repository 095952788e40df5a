//! Discovery's checks against hand-made cluster-info ConfigMaps and discovery files: the §Q.1 CA and pin, JWS
//! signed with the token, and every way the trust can fail.

#![allow(clippy::unwrap_used)]
use super::*;
use crate::jws::sign_detached;

use crate::certs::tests::{Q1_CA, Q1_PIN};
const TOKEN: &str = "abcdef.0123456789abcdef";
const SERVER: &str = "https://lb.example.com:6443";

/// The cluster-info kubeconfig text as init's bootstrap-token phase writes it (§H.1).
fn cluster_info_text(ca_pem: &[u8]) -> String {
    crate::go_format::yaml::to_yaml(&kubeconfig_value("", SERVER, ca_pem, "", UserAuth::None))
}

/// A cluster-info ConfigMap with a JWS per (id, secret).
fn cluster_info(text: &str, signers: &[(&str, &str)]) -> ConfigMap {
    let mut data = BTreeMap::from([(KUBECONFIG_KEY.to_string(), text.to_string())]);
    for (id, secret) in signers {
        data.insert(format!("{JWS_KEY_PREFIX}{id}"), sign_detached(text.as_bytes(), id, secret));
    }
    ConfigMap { data: Some(data), ..Default::default() }
}

#[test]
fn signed_and_pinned_cluster_info_is_trusted() {
    let text = cluster_info_text(Q1_CA.as_bytes());
    assert!(text.starts_with("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: "));
    assert!(text.ends_with(
        "  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n"
    ));
    let cm = cluster_info(&text, &[("abcdef", "0123456789abcdef"), ("zzzzzz", "0000000000000000")]);
    let other_pin = format!("sha256:{}", "0".repeat(64));
    let t = verify_cluster_info(&cm, TOKEN, &[other_pin, Q1_PIN.to_uppercase().replace("SHA256", "sha256")], false)
        .unwrap();
    assert_eq!(t.server, SERVER);
    assert_eq!(t.ca_pem, Q1_CA.as_bytes());
    assert_eq!(t.cluster_name, "");
    assert_eq!(t.ca_hashes, [Q1_PIN]);
    assert_eq!(t.kubeconfig_text, text);
    same_cluster_info(&t, &cm).unwrap();
}

#[test]
fn each_refusal_has_its_own_check() {
    let text = cluster_info_text(Q1_CA.as_bytes());
    let good = cluster_info(&text, &[("abcdef", "0123456789abcdef")]);
    let pins = [Q1_PIN.to_string()];

    // wrong pin: the actual hash is listed
    let wrong = [format!("sha256:{}", "ab".repeat(32))];
    let e = verify_cluster_info(&good, TOKEN, &wrong, false).unwrap_err();
    assert!(matches!(&e, DiscoveryError::NotPinned { hashes } if hashes == &[Q1_PIN]), "{e:?}");
    assert!(e.to_string().contains(&format!("none of the public keys \"{Q1_PIN}\" are pinned")), "{e}");

    // tampered kubeconfig, signature left as it was
    let mut tampered = good.clone();
    let data = tampered.data.as_mut().unwrap();
    data.insert(KUBECONFIG_KEY.into(), text.replace("lb.example.com", "evil.example.com"));
    let e = verify_cluster_info(&tampered, TOKEN, &pins, false).unwrap_err();
    assert!(matches!(e, DiscoveryError::BadSignature));
    assert!(e.to_string().contains("can't trust this API Server"));

    // signed with another token's secret under our id
    let forged = cluster_info(&text, &[("abcdef", "ffffffffffffffff")]);
    assert!(matches!(verify_cluster_info(&forged, TOKEN, &pins, false), Err(DiscoveryError::BadSignature)));

    // no jws for our token id: kubeadm's message with kbinit's command; retryable
    let other = cluster_info(&text, &[("zzzzzz", "0123456789abcdef")]);
    let e = verify_cluster_info(&other, TOKEN, &pins, false).unwrap_err();
    assert!(e.is_retryable());
    assert_eq!(
        e.to_string(),
        "token id \"abcdef\" is invalid for this cluster or it has expired. Use \"kbinit token create\" on the \
         control-plane node to create a new valid token"
    );

    // no kubeconfig at all
    let empty = ConfigMap::default();
    let e = verify_cluster_info(&empty, TOKEN, &pins, false).unwrap_err();
    assert!(matches!(e, DiscoveryError::MissingKubeconfig) && !e.is_retryable());

    // two clusters
    let mut two: Value = crate::go_format::yaml::from_yaml(&text).unwrap();
    let first = two["clusters"][0].clone();
    two["clusters"].as_array_mut().unwrap().push(first);
    let e = verify_cluster_info(
        &cluster_info(&crate::go_format::yaml::to_yaml(&two), &[("abcdef", "0123456789abcdef")]),
        TOKEN,
        &pins,
        false,
    )
    .unwrap_err();
    assert!(matches!(e, DiscoveryError::ClusterCount { count: 2 }), "{e:?}");

    // CA by file reference
    let mut by_file: Value = crate::go_format::yaml::from_yaml(&text).unwrap();
    let c = by_file["clusters"][0]["cluster"].as_object_mut().unwrap();
    c.remove("certificate-authority-data");
    c.insert("certificate-authority".into(), "/etc/kubernetes/pki/ca.crt".into());
    let cm = cluster_info(&crate::go_format::yaml::to_yaml(&by_file), &[("abcdef", "0123456789abcdef")]);
    assert!(matches!(verify_cluster_info(&cm, TOKEN, &pins, false), Err(DiscoveryError::CaNotEmbedded { .. })));

    // no pins: refused unless unsafe-skip, which returns it without a pin check
    assert!(matches!(verify_cluster_info(&good, TOKEN, &[], false), Err(DiscoveryError::NoPins)));
    assert_eq!(verify_cluster_info(&good, TOKEN, &[], true).unwrap().server, SERVER);

    // converted to the crate error with the same words
    let crate_err: Error = DiscoveryError::BadSignature.into();
    assert!(matches!(&crate_err, Error::Conflict(m) if m.contains("can't trust")));
    assert!(matches!(verify_cluster_info(&good, "bad", &pins, false), Err(DiscoveryError::Input(_))));
}

#[test]
fn pins_match_any_certificate_of_a_bundle() {
    let key = crate::certs::generate_key(crate::config::KeyAlgorithm::EcdsaP256).unwrap();
    let now = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let second = crate::certs::issue::new_ca("other-ca", &key, now, std::time::Duration::from_secs(3600)).unwrap();
    let bundle = format!("{second}{Q1_CA}");
    let second_pin = crate::certs::ca_cert_hash(second.as_bytes()).unwrap();
    let cm = cluster_info(&cluster_info_text(bundle.as_bytes()), &[("abcdef", "0123456789abcdef")]);
    let t = verify_cluster_info(&cm, TOKEN, &[Q1_PIN.to_string()], false).unwrap();
    assert_eq!(t.ca_hashes, [second_pin.clone(), Q1_PIN.to_string()]);
    let e = verify_cluster_info(&cm, TOKEN, &[format!("sha256:{}", "1".repeat(64))], false).unwrap_err();
    assert!(e.to_string().contains(&format!("\"{second_pin}:{Q1_PIN}\"")), "{e}");
}

#[test]
fn second_fetch_must_be_byte_identical() {
    let text = cluster_info_text(Q1_CA.as_bytes());
    let cm = cluster_info(&text, &[("abcdef", "0123456789abcdef")]);
    let t = verify_cluster_info(&cm, TOKEN, &[Q1_PIN.to_string()], false).unwrap();
    // same content, one byte more (trailing newline): still a change
    let changed = cluster_info(&format!("{text}\n"), &[]);
    let e = same_cluster_info(&t, &changed).unwrap_err();
    assert!(matches!(e, DiscoveryError::Changed { .. }));
    assert!(e.to_string().contains("changed between the insecure and the CA-pinned fetch"), "{e}");
    assert!(matches!(same_cluster_info(&t, &ConfigMap::default()), Err(DiscoveryError::MissingKubeconfig)));
}

fn file_text(ca_data: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: joiner@prod\nclusters:\n- name: other\n  cluster:\n    server: https://wrong:6443\n\
- name: prod\n  cluster:\n    server: {SERVER}\n{ca_data}contexts:\n- name: joiner@prod\n  context:\n    cluster: prod\n    user: joiner\n\
users:\n- name: joiner\n  user:\n{user}"
    )
}

#[test]
fn file_discovery_picks_the_cluster_and_checks_embedding() {
    let ca = format!("    certificate-authority-data: {}\n", B64.encode(Q1_CA));
    // current context's cluster, no credentials
    let f = file_discovery(&file_text(&ca, "    {}\n")).unwrap();
    assert_eq!((f.cluster.cluster_name.as_str(), f.cluster.server.as_str()), ("prod", SERVER));
    assert_eq!(f.cluster.ca_hashes, [Q1_PIN]);
    assert!(f.user.is_none());
    let e = tls_bootstrap_kubeconfig(Some(&f), &f.cluster, "kubernetes", SERVER, "").unwrap_err();
    assert!(matches!(e, DiscoveryError::TlsBootstrapTokenRequired));
    let k = tls_bootstrap_kubeconfig(Some(&f), &f.cluster, "kubernetes", SERVER, TOKEN).unwrap();
    assert_eq!(k["users"][0]["user"]["token"], TOKEN);

    // the cluster named "" wins over the current context's
    let with_empty = file_text(&ca, "    {}\n").replace(
        "- name: other\n  cluster:\n    server: https://wrong:6443\n",
        &format!("- name: \"\"\n  cluster:\n    server: https://first:6443\n{ca}"),
    );
    assert_eq!(file_discovery(&with_empty).unwrap().cluster.server, "https://first:6443");

    // embedded credentials: the file is the TLS-bootstrap kubeconfig as is
    let creds = "    client-certificate-data: Y2VydA==\n    client-key-data: a2V5\n";
    let f = file_discovery(&file_text(&ca, creds)).unwrap();
    assert_eq!(f.user.as_ref().unwrap().0, "joiner");
    assert_eq!(tls_bootstrap_kubeconfig(Some(&f), &f.cluster, "kubernetes", SERVER, "").unwrap(), f.kubeconfig);

    // credentials by file reference
    let e = file_discovery(&file_text(&ca, "    client-certificate: /c.crt\n    client-key-data: a2V5\n")).unwrap_err();
    assert!(
        matches!(&e, DiscoveryError::CredentialsNotEmbedded { field, .. } if field == "client-certificate"),
        "{e:?}"
    );
    let e = file_discovery(&file_text(&ca, "    tokenFile: /t\n")).unwrap_err();
    assert!(matches!(&e, DiscoveryError::CredentialsNotEmbedded { field, .. } if field == "tokenFile"));

    // CA not embedded
    let e = file_discovery(&file_text("    certificate-authority: /ca.crt\n", "    {}\n")).unwrap_err();
    assert!(matches!(&e, DiscoveryError::CaNotEmbedded { cluster, .. } if cluster == "prod"), "{e:?}");

    // no cluster at all, and a current context pointing nowhere
    assert!(matches!(
        file_discovery("apiVersion: v1\nkind: Config\nclusters: []\n"),
        Err(DiscoveryError::NoCluster(_))
    ));
    let dangling = file_text(&ca, "    {}\n").replace("    cluster: prod\n", "    cluster: gone\n");
    assert!(matches!(file_discovery(&dangling), Err(DiscoveryError::NoCluster(m)) if m.contains("gone")));
    assert!(matches!(file_discovery(": : :\n- ["), Err(DiscoveryError::BadKubeconfig { .. })));

    // cluster-info naming another server only warns
    let f = file_discovery(&file_text(&ca, "    {}\n")).unwrap();
    let cm = ConfigMap {
        data: Some(BTreeMap::from([(
            KUBECONFIG_KEY.into(),
            cluster_info_text(Q1_CA.as_bytes()).replace(SERVER, "https://10.0.0.10:6443"),
        )])),
        ..Default::default()
    };
    assert!(file_cluster_info_warning(&f, &cm).unwrap().contains("https://10.0.0.10:6443"));
    let same = ConfigMap {
        data: Some(BTreeMap::from([(KUBECONFIG_KEY.into(), cluster_info_text(Q1_CA.as_bytes()))])),
        ..Default::default()
    };
    assert_eq!(file_cluster_info_warning(&f, &same), None);
}

#[test]
fn bootstrap_kubelet_conf_layout() {
    let v = bootstrap_kubeconfig("prod", SERVER, b"CA", TOKEN);
    let text = crate::go_format::yaml::to_yaml(&v);
    assert_eq!(
        text,
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {SERVER}\n  name: prod\n\
contexts:\n- context:\n    cluster: prod\n    user: tls-bootstrap-token-user\n  name: tls-bootstrap-token-user@kubernetes\n\
current-context: tls-bootstrap-token-user@kubernetes\nkind: Config\npreferences: {{}}\nusers:\n- name: tls-bootstrap-token-user\n  user:\n\
\x20   token: {TOKEN}\n",
            B64.encode("CA")
        )
    );
}
