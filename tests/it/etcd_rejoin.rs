//! Disaster recovery of a three-member stacked etcd on netns nodes (kubelet stand-ins running real etcd from the
//! manifests kbinit writes, the fake API server behind a load balancer): a snapshot on cp1, more writes, the
//! etcd of cp2 and cp3 destroyed (quorum lost), `etcd restore` on the survivor, then `etcd rejoin` on cp2 and
//! cp3: three voting members holding exactly the snapshot's data, each node's stale data dir kept aside.
//!
//! fake-api: to move: the API server only serves kubeadm-config here; three real control planes (three real
//! kube-apiservers on the 2-core CI machine) are what it would take.

use serde_json::Value;

use crate::support::fakeapi::FakeApi;
use crate::support::nodes::lan::Lan;
use crate::support::nodes::testnode::{TestNode, init_config, join_config, newest_version};
use crate::support::{Run, require_tool};

const LB: &str = "10.81.0.100";

fn addr(i: u8) -> String {
    format!("10.81.0.{i}")
}

fn ok(run: Run, what: &str, node: &TestNode) -> Run {
    assert_eq!(
        run.code,
        0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}\nstand-in: {:?}\netcd log tail:\n{}",
        run.stdout,
        run.stderr,
        node.standin.events(),
        node.standin.etcd_log().lines().rev().take(15).collect::<Vec<_>>().join("\n")
    );
    run
}

/// `etcdctl` on `node` against `endpoint`, with the node's healthcheck-client identity.
fn etcdctl(node: &TestNode, endpoint: &str, args: &[&str]) -> String {
    let pki = node.node.path("/etc/kubernetes/pki");
    let o = node
        .ns
        .command("etcdctl")
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .arg(format!("--cacert={}", pki.join("etcd/ca.crt").display()))
        .arg(format!("--cert={}", pki.join("etcd/healthcheck-client.crt").display()))
        .arg(format!("--key={}", pki.join("etcd/healthcheck-client.key").display()))
        .args(["--command-timeout=10s"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "etcdctl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn keys(node: &TestNode, endpoint: &str) -> Vec<String> {
    let mut k: Vec<String> =
        etcdctl(node, endpoint, &["get", "/kbinit/", "--prefix", "--keys-only", "--consistency=s"])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    k.sort();
    k
}

#[test]
fn two_of_three_members_lost_restore_on_the_survivor_and_rejoin_the_others() {
    if !require_tool("etcd") || !require_tool("etcdctl") || !require_tool("ip") {
        return;
    }
    let version = newest_version();
    let api = FakeApi::new();
    let lan = Lan::create("rejoin", LB);
    let cps: Vec<TestNode> =
        (1..=3u8).map(|i| TestNode::start(&format!("rj{i}"), &format!("cp{i}"), &[], &api, i == 1)).collect();
    for (i, n) in cps.iter().enumerate() {
        lan.attach(&n.ns, &addr(i as u8 + 1));
    }
    let backends = (1..=3u8).map(|i| format!("{}:6443", addr(i)).parse().unwrap()).collect();
    let _lb = lan.balancer(format!("{LB}:6443").parse().unwrap(), backends);
    let cfg = cps[0].config(&init_config(&version, &addr(1), LB));
    let run = ok(cps[0].kbinit(&["init", "--config", &cfg, "--upload-certs"]), "init on cp1", &cps[0]);
    let token = run.stdout.lines().find_map(|l| l.strip_prefix("[bootstrap-token] Using token: ")).unwrap().to_string();
    let key =
        run.stdout.lines().skip_while(|l| *l != "[upload-certs] Using certificate key:").nth(1).unwrap().to_string();
    let pin = run.stdout.split_whitespace().find(|x| x.starts_with("sha256:")).unwrap().to_string();
    for (i, n) in cps.iter().enumerate().skip(1) {
        let a = addr(i as u8 + 1);
        let c = n.config(&join_config(
            &format!("{LB}:6443"),
            &format!("cp{}", i + 1),
            &token,
            &pin,
            Some((&a, &key)),
            None,
        ));
        ok(n.kbinit(&["join", "--config", &c]), "control-plane join", n);
    }
    let cp1 = format!("https://{}:2379", addr(1));
    for i in 0..4 {
        etcdctl(&cps[0], &cp1, &["put", &format!("/kbinit/before/{i}"), "v"]);
    }
    ok(cps[0].kbinit(&["etcd", "snapshot", "save", "--name", "dr"]), "snapshot on cp1", &cps[0]);
    etcdctl(&cps[0], &cp1, &["put", "/kbinit/after", "lost"]);

    // cp2 and cp3 are gone: their etcd dies, cp1 alone has no quorum
    cps[1].standin.kill_etcd();
    cps[2].standin.kill_etcd();
    let run = ok(
        cps[0].kbinit(&["etcd", "restore", "--force", "--snapshot", "/var/lib/kbinit/etcd-snapshots/dr.db"]),
        "restore on cp1",
        &cps[0],
    );
    let rejoin_line = format!("kbinit etcd rejoin --endpoint {cp1}");
    assert!(run.stdout.contains(&rejoin_line), "{}", run.stdout);
    let want: Vec<String> = (0..4).map(|i| format!("/kbinit/before/{i}")).collect();
    assert_eq!(keys(&cps[0], &cp1), want);

    // a dry run says what it would do and changes nothing
    let before = std::fs::read(cps[1].node.path("/etc/kubernetes/manifests/etcd.yaml")).unwrap();
    let run = ok(cps[1].kbinit(&["etcd", "rejoin", "--endpoint", &cp1, "--dry-run"]), "rejoin --dry-run", &cps[1]);
    assert!(run.stdout.contains("[dryrun] Would add https://10.81.0.2:2380 as a learner"), "{}", run.stdout);
    assert_eq!(std::fs::read(cps[1].node.path("/etc/kubernetes/manifests/etcd.yaml")).unwrap(), before);

    for n in &cps[1..] {
        ok(n.kbinit(&["etcd", "rejoin", "--endpoint", &cp1, "--output", "jsonl"]), "rejoin", n);
        let aside: Vec<String> = std::fs::read_dir(n.node.path("/var/lib"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with("etcd.before-rejoin-"))
            .collect();
        assert_eq!(aside.len(), 1, "the stale data dir is kept: {aside:?}");
    }
    let list: Value = serde_json::from_str(&etcdctl(&cps[0], &cp1, &["member", "list", "-w", "json"])).unwrap();
    let members = list["members"].as_array().unwrap();
    let mut names: Vec<&str> = members.iter().map(|m| m["name"].as_str().unwrap_or_default()).collect();
    names.sort();
    assert_eq!(names, ["cp1", "cp2", "cp3"], "{list}");
    assert!(members.iter().all(|m| m.get("isLearner").is_none_or(|l| l == false)), "three voting members: {list}");
    for (i, n) in cps.iter().enumerate() {
        let own = format!("https://{}:2379", addr(i as u8 + 1));
        assert_eq!(keys(n, &own), want, "cp{} holds the restored data", i + 1);
    }
    // a rejoin of a member that is in: nothing to do
    let run = ok(cps[2].kbinit(&["etcd", "rejoin", "--endpoint", &cp1]), "rejoin again", &cps[2]);
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
}
