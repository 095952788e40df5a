//! Unit tests of `config migrate`: the corpus in `tests/corpus/migrate` and the reference input, compared field by
//! field after loading; the exact warning lines; the bad-input corpus refused with the loader's messages.

use std::path::{Path, PathBuf};

use super::*;
use crate::config::{InitConfiguration, JoinConfiguration};

fn facts() -> HostFacts {
    HostFacts {
        hostname: "Node1".into(),
        default_address: Some("10.0.0.10".parse().unwrap()),
        cri_sockets: vec!["unix:///run/a.sock".into(), "unix:///run/b.sock".into()],
        systemd_resolved: false,
    }
}

fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus").join(name)
}

const REFERENCE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/kubeadm-1.28.7/input-config.yaml"));

/// Every field of two resolved InitConfigurations, one assertion each (the API version they were read from aside).
fn assert_same_init(case: &str, a: &InitConfiguration, b: &InitConfiguration) {
    assert_eq!(a.bootstrap_tokens, b.bootstrap_tokens, "{case}: bootstrap_tokens");
    assert_eq!(a.node_registration, b.node_registration, "{case}: node_registration");
    assert_eq!(a.local_api_endpoint, b.local_api_endpoint, "{case}: local_api_endpoint");
    assert_eq!(a.certificate_key, b.certificate_key, "{case}: certificate_key");
    assert_eq!(a.skip_phases, b.skip_phases, "{case}: skip_phases");
    assert_eq!(a.patches_dir, b.patches_dir, "{case}: patches_dir");
    assert_eq!(a.timeouts, b.timeouts, "{case}: timeouts");
    let (c, d) = (&a.cluster, &b.cluster);
    assert_eq!(c.kubernetes_version, d.kubernetes_version, "{case}: kubernetes_version");
    assert_eq!(c.control_plane_endpoint, d.control_plane_endpoint, "{case}: control_plane_endpoint");
    assert_eq!(c.cluster_name, d.cluster_name, "{case}: cluster_name");
    assert_eq!(c.certificates_dir, d.certificates_dir, "{case}: certificates_dir");
    assert_eq!(c.image_repository, d.image_repository, "{case}: image_repository");
    assert_eq!(c.networking, d.networking, "{case}: networking");
    assert_eq!(c.etcd, d.etcd, "{case}: etcd");
    assert_eq!(c.api_server, d.api_server, "{case}: api_server");
    assert_eq!(c.controller_manager, d.controller_manager, "{case}: controller_manager");
    assert_eq!(c.scheduler, d.scheduler, "{case}: scheduler");
    assert_eq!(
        (&c.dns_image_repository, &c.dns_image_tag, c.dns_disabled, c.proxy_disabled),
        (&d.dns_image_repository, &d.dns_image_tag, d.dns_disabled, d.proxy_disabled),
        "{case}: dns / proxy"
    );
    assert_eq!(c.feature_gates, d.feature_gates, "{case}: feature_gates");
    assert_eq!(c.encryption_algorithm, d.encryption_algorithm, "{case}: encryption_algorithm");
    assert_eq!(c.certificate_validity, d.certificate_validity, "{case}: certificate_validity");
    assert_eq!(c.ca_certificate_validity, d.ca_certificate_validity, "{case}: ca_certificate_validity");
    assert_eq!(a.kubelet, b.kubelet, "{case}: kubelet");
    assert_eq!(a.kube_proxy, b.kube_proxy, "{case}: kube_proxy");
}

fn assert_same_join(case: &str, a: &JoinConfiguration, b: &JoinConfiguration) {
    assert_eq!(a.node_registration, b.node_registration, "{case}: node_registration");
    assert_eq!(a.ca_cert_path, b.ca_cert_path, "{case}: ca_cert_path");
    assert!(a.discovery == b.discovery, "{case}: discovery {:?} != {:?}", a.discovery, b.discovery);
    assert_eq!(a.tls_bootstrap_token, b.tls_bootstrap_token, "{case}: tls_bootstrap_token");
    assert!(a.control_plane == b.control_plane, "{case}: control_plane");
    assert_eq!(a.skip_phases, b.skip_phases, "{case}: skip_phases");
    assert_eq!(a.patches_dir, b.patches_dir, "{case}: patches_dir");
    assert_eq!(a.timeouts, b.timeouts, "{case}: timeouts");
}

/// Migrates `old`, checks the API version, that old and new load alike, and that migrating again is a no-op.
fn check(case: &str, old: &str, api: &str) -> Migration {
    let m = migrate(old, false, &facts()).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert_eq!(api_version_string(m.api), api, "{case}");
    for doc in crate::go_format::yaml::documents(&m.text).unwrap() {
        let v = doc["apiVersion"].as_str().unwrap();
        assert!(v == api || !v.starts_with(KUBEADM_GROUP), "{case}: a document in {v}");
    }
    let f = load_facts(&facts());
    if old.contains("InitConfiguration") || old.contains("ClusterConfiguration") {
        // the old file as the migration reads it: in its own API version even where its release refuses that
        let a = load_init_as(Some(old), &Default::default(), &f, RemovedApi::Read).unwrap().config;
        let b = load_init(Some(&m.text), &Default::default(), &f).unwrap().config;
        assert_eq!(b.api_version, m.api, "{case}");
        assert_same_init(case, &a, &b);
    }
    if old.contains("JoinConfiguration") {
        let a = load_join(Some(old), &Default::default(), &f).unwrap().config;
        let b = load_join(Some(&m.text), &Default::default(), &f).unwrap().config;
        assert_same_join(case, &a, &b);
    }
    let again = migrate(&m.text, false, &facts()).unwrap();
    assert_eq!(again.text, m.text, "{case}: a second migration changes the text");
    // what is left on a second run is what loading the documents says (a deprecated gate the file keeps), never a
    // field to migrate again
    assert!(
        again.warnings.iter().all(|w| m.warnings.contains(w) && !w.contains("kubeadm.k8s.io/v1beta4")),
        "{case}: a second migration warns {:?}",
        again.warnings
    );
    m
}

#[test]
fn corpus() {
    let mut dirs: Vec<_> =
        std::fs::read_dir(corpus_dir("migrate")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 7, "the migrate corpus has {} cases", dirs.len());
    for dir in dirs {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let old = std::fs::read_to_string(dir.join("old.yaml")).unwrap();
        let api = std::fs::read_to_string(dir.join("api")).unwrap();
        let want = std::fs::read_to_string(dir.join("warnings")).unwrap();
        let m = check(&case, &old, api.trim());
        let want: Vec<&str> = want.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(m.warnings, want, "{case}: warnings");
    }
}

#[test]
fn reference_input_stays_v1beta3_on_1_28_and_becomes_v1beta4_on_1_31() {
    let m = check("reference", REFERENCE, "kubeadm.k8s.io/v1beta3");
    assert_eq!(m.target.to_string(), "v1.28.7");
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);

    let moved = REFERENCE.replace("kubernetesVersion: v1.28.7", "kubernetesVersion: v1.31.0");
    let m = check("reference on 1.31", &moved, "kubeadm.k8s.io/v1beta4");
    assert_eq!(
        m.warnings,
        ["InitConfiguration.nodeRegistration.imagePullSerial: new in kubeadm.k8s.io/v1beta4; not written, so it \
          keeps its default true (images are pulled one at a time, as with kubeadm.k8s.io/v1beta3)"]
    );
    let docs = crate::go_format::yaml::documents(&m.text).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["kind"], "InitConfiguration");
    assert_eq!(docs[0]["nodeRegistration"]["name"], "cp1");
    assert_eq!(docs[1]["controlPlaneEndpoint"], "lb.example.com:6443");
    assert!(docs[0].get("bootstrapTokens").is_none(), "nothing the operator did not write is added");
}

#[test]
fn shapes_written() {
    let text = std::fs::read_to_string(corpus_dir("migrate/01-custom-args/old.yaml")).unwrap();
    let m = migrate(&text, false, &facts()).unwrap();
    let docs = crate::go_format::yaml::documents(&m.text).unwrap();
    let (init, cluster) = (&docs[0], &docs[1]);
    assert_eq!(init["timeouts"], serde_json::json!({"controlPlaneComponentHealthCheck": "6m0s"}));
    assert_eq!(
        init["nodeRegistration"]["kubeletExtraArgs"],
        serde_json::json!([{"name": "max-pods", "value": "150"}, {"name": "node-labels", "value": "tier=control"}])
    );
    assert_eq!(
        cluster["apiServer"]["extraArgs"][0],
        serde_json::json!({"name": "audit-log-path", "value": "/var/log/kubernetes/audit.log"})
    );
    assert!(cluster["apiServer"].get("timeoutForControlPlane").is_none());
    let join = std::fs::read_to_string(corpus_dir("migrate/04-join-control-plane/old.yaml")).unwrap();
    let m = migrate(&join, false, &facts()).unwrap();
    let doc = &crate::go_format::yaml::documents(&m.text).unwrap()[0];
    assert_eq!(doc["timeouts"], serde_json::json!({"discovery": "1m30s"}));
    assert!(doc["discovery"].get("timeout").is_none());
    let gate = std::fs::read_to_string(corpus_dir("migrate/05-cluster-only-ecdsa-gate/old.yaml")).unwrap();
    let m = migrate(&gate, false, &facts()).unwrap();
    let docs = crate::go_format::yaml::documents(&m.text).unwrap();
    assert_eq!(docs[0]["kind"], "InitConfiguration", "the moved timeout needs an InitConfiguration");
    assert_eq!(docs[1]["encryptionAlgorithm"], "ECDSA-P256");
    assert_eq!(docs[1]["featureGates"]["PublicKeysECDSA"], true);
}

#[test]
fn allow_experimental_is_explained() {
    let m = migrate(REFERENCE, true, &facts()).unwrap();
    assert_eq!(m.api, ApiVersion::V1beta3);
    assert!(
        m.warnings[0].starts_with("--allow-experimental-api: kubeadm of Kubernetes v1.28.7 would write"),
        "{:?}",
        m.warnings
    );
    let moved = REFERENCE.replace("v1.28.7", "v1.34.0");
    let m = migrate(&moved, true, &facts()).unwrap();
    assert_eq!(m.api, ApiVersion::V1beta4);
    assert!(m.warnings[0].contains("no experimental kubeadm API version"), "{:?}", m.warnings);
}

#[test]
fn reset_and_upgrade_documents_are_kept() {
    let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ResetConfiguration\nforce: true\n---\n\
                apiVersion: kubeadm.k8s.io/v1beta4\nkind: UpgradeConfiguration\napply:\n  etcdUpgrade: false\n";
    let m = migrate(text, false, &facts()).unwrap();
    let docs = crate::go_format::yaml::documents(&m.text).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["force"], true);
    assert_eq!(docs[1]["apply"]["etcdUpgrade"], false);
}

#[test]
fn bad_documents_are_named() {
    let cases = [
        (
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1alpha9\nkind: JoinConfiguration\n",
            "document 2 (kubeadm.k8s.io/v1alpha9, Kind=JoinConfiguration) apiVersion",
        ),
        ("apiVersion: example.com/v1\nkind: Thing\n", "document 1 (example.com/v1, Kind=Thing)"),
        ("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ResetConfiguration\n", "unknown kind in kubeadm.k8s.io/v1beta3"),
        ("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n", "no kubeadm.k8s.io document"),
        ("- a\n- b\n", "document 1 is not a mapping"),
    ];
    for (text, want) in cases {
        let e = migrate(text, false, &facts()).unwrap_err();
        assert!(e.is_invalid_input(), "{want}: {e}");
        assert!(e.to_string().contains(want), "{e} does not contain {want:?}");
    }
}

#[test]
fn bad_input_corpus_is_refused_as_init_refuses_it() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus_dir("bad-input")).unwrap() {
        let dir = entry.unwrap().path();
        let (Ok(config), Ok(args)) =
            (std::fs::read_to_string(dir.join("config.yaml")), std::fs::read_to_string(dir.join("args")))
        else {
            continue;
        };
        if !args.trim().is_empty() {
            continue; // the fault is in a flag, which migrate does not take
        }
        let expect = std::fs::read_to_string(dir.join("expect")).unwrap();
        if expect.contains("uses an old API spec") {
            // the one fault migrate exists to fix: the file comes out in the version its release reads
            let m = migrate(&config, false, &facts()).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            assert_eq!(m.api, ApiVersion::V1beta4, "{}", dir.display());
            continue;
        }
        let e = migrate(&config, false, &facts()).expect_err(&dir.display().to_string());
        assert!(e.is_invalid_input(), "{}: {e}", dir.display());
        assert!(e.to_string().contains(expect.trim_end()), "{}: {e} lacks {:?}", dir.display(), expect.trim_end());
        n += 1;
    }
    assert!(n >= 25, "only {n} bad-input cases have a config file alone");
}
