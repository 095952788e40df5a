//! Failure injection on one control-plane node at the second-newest minor of kbinit's table, upgraded to the
//! newest: a new etcd that never becomes healthy, then a new kube-apiserver that never does, then `kill -9`
//! while the kubelet restarts kube-apiserver and a re-run.
//!
//! fake-api: a new kube-apiserver (and etcd) that never becomes healthy, at the newest minors of kbinit's table,
//! which have no real binaries in ../shared/k8s.

use kbinit_phases::version::{KubeVersion, MAX_MINOR};

use super::{apply_killed_at, etcdctl, fresh_init_files, manifests, ok, upgrade_config};
use crate::support::fakeapi::FakeApi;
use crate::support::nodes::testnode::{TestNode, init_config};
use crate::support::{Run, require_tool};

const ADDRESS: &str = "192.0.2.30";

#[test]
fn failed_components_are_rolled_back_and_a_killed_upgrade_converges() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let old = KubeVersion::resolve(&format!("v1.{}.0", MAX_MINOR - 1)).unwrap();
    let new = KubeVersion::resolve(&format!("v1.{MAX_MINOR}.0")).unwrap();
    let api = FakeApi::new();
    let cp = TestNode::start("uprb", "cp1", &[ADDRESS], &api, true);
    let cfg = cp.config(&init_config(&old.to_string(), ADDRESS, ADDRESS));
    ok(cp.kbinit(&["init", "--config", &cfg]), "init", &cp);
    etcdctl(&cp, ADDRESS, &["put", "written-before-the-upgrade", "kept"]);
    let up = upgrade_config(&cp);
    let apply = ["upgrade", "apply", &new.to_string(), "--yes", "--config", &up];

    // a new etcd that never becomes healthy: its manifest and data come back, the old etcd answers
    if old.etcd_tag() != new.etcd_tag() {
        let before = manifests(&cp);
        cp.standin.break_manifests(&format!("etcd:{}", new.etcd_tag()));
        let run = cp.kbinit(&apply);
        assert_ne!(run.code, 0, "{}", run.stdout);
        let said = format!("{}{}", run.stdout, run.stderr);
        assert!(
            said.contains("component \"etcd\"") && said.contains("2381/health") && said.contains("last answer"),
            "{said}"
        );
        assert!(said.contains("[upgrade/etcd] Rolling back etcd data"), "{said}");
        // the snapshot taken before etcd was touched is named in the output and in the rollback message
        let snap = "The etcd snapshot taken before this upgrade is /var/lib/kbinit/etcd-snapshots/pre-upgrade-";
        assert!(run.stderr.contains(snap), "{}", run.stderr);
        assert!(
            run.stdout.contains("[upgrade/etcd] etcd snapshot \"/var/lib/kbinit/etcd-snapshots/pre-upgrade-"),
            "{}",
            run.stdout
        );
        assert_eq!(manifests(&cp), before, "every manifest is back byte for byte");
        assert!(etcdctl(&cp, ADDRESS, &["get", "written-before-the-upgrade"]).contains("kept"));
        assert!(!cp.node.path("/etc/kubernetes/tmp/kbinit-upgrade-in-progress").exists());
        cp.standin.fix_manifests();
    } else {
        eprintln!("etcd keeps tag {} from {old} to {new}: the etcd rollback case does not apply", new.etcd_tag());
    }

    // a new kube-apiserver that never becomes healthy: its manifest comes back byte for byte, the old one answers
    let before = manifests(&cp);
    cp.standin.break_manifests(&format!("kube-apiserver:{new}"));
    let run = cp.kbinit(&apply);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let said = format!("{}{}", run.stdout, run.stderr);
    assert!(
        said.contains("component \"kube-apiserver\"")
            && said.contains(&format!("https://{ADDRESS}:6443/livez"))
            && said.contains("last answer"),
        "{said}"
    );
    assert!(said.contains("the previous kube-apiserver is healthy again"), "{said}");
    let after = manifests(&cp);
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        assert_eq!(after[c], before[c], "{c} is back byte for byte");
    }
    let plan: Run = cp.kbinit(&["upgrade", "plan", "-o", "json"]);
    let plan = ok(plan, "plan after the rollback: the old API server answers", &cp);
    let v: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let api_row = v["availableUpgrades"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "kube-apiserver")
        .cloned()
        .unwrap();
    assert_eq!(api_row["currentVersion"], old.to_string());
    cp.standin.fix_manifests();

    // kill -9 while the kubelet restarts kube-apiserver, then the same command again: fully upgraded
    apply_killed_at(&cp, &apply, "manifests/kube-apiserver.yaml\" and backing up");
    assert!(
        cp.node.path("/etc/kubernetes/tmp/kbinit-upgrade-in-progress").exists(),
        "the journal says a swap was in flight"
    );
    let run = ok(cp.kbinit(&apply), "apply after kill -9", &cp);
    assert!(run.stdout.contains("[upgrade] SUCCESS!"), "{}", run.stdout);
    let fresh = fresh_init_files(&init_config(&new.to_string(), ADDRESS, ADDRESS));
    for (path, bytes) in &fresh {
        assert_eq!(
            String::from_utf8_lossy(&cp.node.read(path)),
            String::from_utf8_lossy(bytes),
            "{path} equals a fresh init at {new}"
        );
    }
    assert!(etcdctl(&cp, ADDRESS, &["get", "written-before-the-upgrade"]).contains("kept"));
    assert!(!cp.node.path("/etc/kubernetes/tmp/kbinit-upgrade-in-progress").exists());

    // every apply left a snapshot before touching etcd; the first one restores
    etcdctl(&cp, ADDRESS, &["put", "written-after-the-upgrade", "gone"]);
    let list = ok(cp.kbinit(&["etcd", "snapshot", "list", "-o", "json"]), "snapshot list", &cp);
    let first: serde_json::Value =
        serde_json::Deserializer::from_str(&list.stdout).into_iter().next().expect("a snapshot").unwrap();
    let name = first["name"].as_str().unwrap();
    assert!(name.starts_with(&format!("pre-upgrade-{new}-")), "{name}");
    let snapshot = format!("/var/lib/kbinit/etcd-snapshots/{name}.db");
    ok(cp.kbinit(&["etcd", "restore", "--force", "--snapshot", &snapshot]), "restore of the pre-upgrade snapshot", &cp);
    assert!(etcdctl(&cp, ADDRESS, &["get", "written-before-the-upgrade"]).contains("kept"));
    assert!(etcdctl(&cp, ADDRESS, &["get", "written-after-the-upgrade"]).trim().is_empty());

    // the version the cluster runs, again: every manifest is unchanged and left alone
    let before = manifests(&cp);
    let run = ok(cp.kbinit(&apply), "re-applying the running version", &cp);
    for c in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        assert!(
            run.stdout.contains(&format!("Current and new manifests of {c} are equal, skipping upgrade")),
            "{}",
            run.stdout
        );
    }
    assert_eq!(manifests(&cp), before);

    // and with --patches: only the patched component is swapped, the kubelet config gets its patch
    let dir = cp.node.root().join("patches");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("kube-scheduler.yaml"),
        "spec:\n  containers:\n  - name: kube-scheduler\n    resources:\n      requests:\n        cpu: 250m\n",
    )
    .unwrap();
    std::fs::write(dir.join("kubeletconfiguration+merge.yaml"), "maxPods: 50\n").unwrap();
    let dir = dir.display().to_string();
    let mut patched = apply.to_vec();
    patched.extend(["--patches", &dir]);
    let run = ok(cp.kbinit(&patched), "re-applying with --patches", &cp);
    assert!(
        run.stdout.contains(
            "[patches] Applied patch of type \"application/strategic-merge-patch+json\" to target \"kube-scheduler\""
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[upgrade/staticpods] Component \"kube-scheduler\" upgraded successfully!"),
        "{}",
        run.stdout
    );
    let after = manifests(&cp);
    assert!(String::from_utf8_lossy(&after["kube-scheduler"]).contains("cpu: 250m"));
    assert!(
        String::from_utf8_lossy(&after["kube-scheduler"])
            .contains(&format!("image: registry.k8s.io/kube-scheduler:{new}"))
    );
    for c in ["etcd", "kube-apiserver", "kube-controller-manager"] {
        assert_eq!(after[c], before[c], "{c} is left alone");
    }
    assert!(cp.node.read_str("/var/lib/kubelet/config.yaml").contains("maxPods: 50"));

    // a patch release: etcd's manifest does not change, but (1.31+) its certificates are renewed and it is restarted;
    // the patches directory given as the UpgradeConfiguration's apply.patches this time: the patched scheduler
    // moves to the new release with its patch re-applied
    if new.at_least(31) {
        let patch = KubeVersion { patch: 1, ..new.clone() };
        let up_patched = cp.node.root().join("upgrade-patched.yaml");
        std::fs::write(
            &up_patched,
            super::UPGRADE_CONFIG.replace("apply:\n", &format!("apply:\n  patches:\n    directory: {dir}\n")),
        )
        .unwrap();
        let up = up_patched.display().to_string();
        let etcd_before = manifests(&cp)["etcd"].clone();
        let crt = cp.node.read("/etc/kubernetes/pki/etcd/server.crt");
        let etcd_starts = || cp.standin.events().iter().filter(|e| *e == "started etcd").count();
        let starts = etcd_starts();
        let run =
            ok(cp.kbinit(&["upgrade", "apply", &patch.to_string(), "--yes", "--config", &up]), "patch upgrade", &cp);
        assert!(
            run.stdout.contains("[upgrade/staticpods] Restarting the etcd static pod and backing up its manifest to"),
            "{}",
            run.stdout
        );
        assert_eq!(manifests(&cp)["etcd"], etcd_before, "the same etcd manifest");
        assert_ne!(cp.node.read("/etc/kubernetes/pki/etcd/server.crt"), crt, "etcd's certificate was renewed");
        assert!(etcdctl(&cp, ADDRESS, &["get", "written-before-the-upgrade"]).contains("kept"));
        assert_eq!(etcd_starts(), starts + 1, "etcd was restarted once: {:?}", cp.standin.events());
        let scheduler = String::from_utf8_lossy(&manifests(&cp)["kube-scheduler"]).into_owned();
        assert!(scheduler.contains(&format!("image: registry.k8s.io/kube-scheduler:{patch}")), "{scheduler}");
        assert!(scheduler.contains("cpu: 250m"), "the patch did not survive the upgrade:\n{scheduler}");
        assert!(run.stdout.contains("to target \"kube-scheduler\""), "{}", run.stdout);
    }
}
