//! The validation parity table (tests only): every rule of kubeadm's validation package, as read from
//! `cmd/kubeadm/app/apis/kubeadm/validation/validation.go` (kubernetes/kubernetes at `00d24de6`, a v1.31–v1.33
//! state: v1beta4 `[]Arg` extraArgs, `ValidateUpgradeConfiguration`, no ECDSA-P384; compared with an older stored copy
//! that lacks only the `yes` allowed flag), with the kbinit input that pins the outcome: an input kubeadm rejects must
//! be refused naming the same field (and, where kbinit took over kubeadm's wording, the same message), a boundary
//! kubeadm accepts must load. [`differs`] lists what kbinit deliberately does otherwise, each case also pinned.
//!
//! The package changed little over the supported releases: 1.34 adds `ECDSA-P384` to `encryptionAlgorithm` (pinned
//! per version below), 1.35 adds `etcd.external.httpEndpoints` (not read by kbinit), 1.38 (alpha) adds ML-DSA
//! algorithms (outside kbinit's range), and utils' `ParsePort` moved from `strconv.Atoi` (a `+` sign accepted) to
//! `ParseUint` (refused); kbinit follows the newer one. Feature-gate names per release belong to the gate tables.
//!
//! Each case runs, through [`load_init`]/[`load_join`], as v1beta4 at v1.31, v1.34 and the newest supported release,
//! and (when its syntax exists there) as v1beta3 at v1.28 and v1.30; flag cases at v1.28 and the default. Join
//! cases run as v1beta4 and, where marked, v1beta3 (kbinit's join has no release of its own to refuse v1beta3 by).

mod differs;
mod init_rules;
mod join_rules;

use crate::Error;
use crate::config::{HostFacts, InitFlags, JoinFlags, load_init, load_join};
use crate::version::KubeVersion;

/// Which API versions a document case is written for.
#[derive(Clone, Copy, PartialEq)]
enum Apis {
    /// The text means the same in v1beta3 and v1beta4.
    Both,
    /// v1beta4 only (list extraArgs, timeouts, encryptionAlgorithm, validity periods).
    V4,
    /// v1beta3 only (map extraArgs).
    V3,
}

/// What a case feeds kbinit.
enum Input {
    /// InitConfiguration and ClusterConfiguration bodies (YAML, `kubernetesVersion` added), extra documents after.
    Init { init: &'static str, cluster: &'static str, extra: &'static str, apis: Apis },
    /// v1beta4 documents at one release only.
    At { version: &'static str, cluster: &'static str },
    /// `kbinit init` flags only, or with `--config` holding `cluster`.
    Flags { cluster: Option<&'static str>, set: fn(&mut InitFlags) },
    /// A JoinConfiguration body.
    Join { join: &'static str, apis: Apis },
    /// `kbinit join` flags only.
    JoinFlags(fn(&mut JoinFlags)),
}

/// The outcome kbinit must give.
enum Want {
    /// An [`Error::Invalid`] naming exactly `field`, its message containing `says`.
    Refused { field: &'static str, says: &'static str },
    /// Loads without error.
    Accepted,
    /// Loads, with a warning containing the text.
    Warned(&'static str),
}

/// One kubeadm rule and the case that pins kbinit's outcome.
struct Rule {
    /// Short id, unique over both tables.
    id: &'static str,
    /// The Go function(s) of kubeadm the rule comes from.
    go: &'static str,
    input: Input,
    want: Want,
}

const fn cluster(cluster: &'static str) -> Input {
    Input::Init { init: "", cluster, extra: "", apis: Apis::Both }
}
const fn cluster4(cluster: &'static str) -> Input {
    Input::Init { init: "", cluster, extra: "", apis: Apis::V4 }
}
const fn cluster3(cluster: &'static str) -> Input {
    Input::Init { init: "", cluster, extra: "", apis: Apis::V3 }
}
const fn init(init: &'static str) -> Input {
    Input::Init { init, cluster: "", extra: "", apis: Apis::Both }
}
const fn init4(init: &'static str) -> Input {
    Input::Init { init, cluster: "", extra: "", apis: Apis::V4 }
}
const fn join(join: &'static str) -> Input {
    Input::Join { join, apis: Apis::Both }
}
const fn refused(field: &'static str, says: &'static str) -> Want {
    Want::Refused { field, says }
}
const ACCEPTED: Want = Want::Accepted;

/// The facts of the host every case loads on.
fn host() -> HostFacts {
    HostFacts {
        hostname: "Node1".into(),
        default_address: Some([10, 0, 0, 10].into()),
        cri_sockets: Vec::new(),
        systemd_resolved: false,
    }
}

/// What kbinit did with one run of a case.
enum Got {
    Refused { field: String, message: String },
    Loaded(Vec<String>),
    Failed(String),
}

fn got<T>(r: Result<crate::config::Loaded<T>, Error>) -> Got {
    match r {
        Ok(l) => Got::Loaded(l.warnings),
        Err(e @ Error::Invalid { .. }) => {
            let message = e.to_string();
            match e {
                Error::Invalid { field, .. } => Got::Refused { field, message },
                _ => Got::Failed(message),
            }
        }
        Err(e) => Got::Failed(e.to_string()),
    }
}

fn docs(api: &str, version: &str, init: &str, cluster: &str, extra: &str) -> String {
    let mut t = format!("apiVersion: kubeadm.k8s.io/{api}\nkind: InitConfiguration\n{init}\n---\n");
    t += &format!(
        "apiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\nkubernetesVersion: {version}\n{cluster}\n"
    );
    if !extra.is_empty() {
        t += &format!("---\n{extra}\n");
    }
    t
}

/// Every run of `input`: a label saying where, and what kbinit did.
fn runs(input: &Input) -> Vec<(String, Got)> {
    let newest = KubeVersion::default_version().to_string();
    let mut v4: Vec<String> = vec!["v1.31.0".into(), "v1.34.0".into()];
    if !v4.contains(&newest) {
        v4.push(newest.clone());
    }
    let v3 = ["v1.28.7", "v1.30.5"];
    let mut out = Vec::new();
    match input {
        Input::Init { init, cluster, extra, apis } => {
            let mut plan: Vec<(&str, String)> = Vec::new();
            if *apis != Apis::V3 {
                plan.extend(v4.iter().map(|v| ("v1beta4", v.clone())));
            }
            if *apis != Apis::V4 {
                plan.extend(v3.iter().map(|v| ("v1beta3", v.to_string())));
            }
            for (api, v) in plan {
                let text = docs(api, &v, init, cluster, extra);
                out.push((format!("{api} at {v}"), got(load_init(Some(&text), &InitFlags::default(), &host()))));
            }
        }
        Input::At { version, cluster } => {
            let text = docs("v1beta4", version, "", cluster, "");
            out.push((format!("v1beta4 at {version}"), got(load_init(Some(&text), &InitFlags::default(), &host()))));
        }
        Input::Flags { cluster, set } => {
            for v in ["v1.28.7", newest.as_str()] {
                let mut f = InitFlags::default();
                set(&mut f);
                let api = if v == "v1.28.7" { "v1beta3" } else { "v1beta4" };
                let text = cluster.map(|c| docs(api, v, "", c, ""));
                if text.is_none() && f.kubernetes_version.is_none() {
                    f.kubernetes_version = Some(v.to_string());
                }
                out.push((format!("flags at {v}"), got(load_init(text.as_deref(), &f, &host()))));
            }
        }
        Input::Join { join, apis } => {
            for api in ["v1beta4", "v1beta3"] {
                if (api == "v1beta4" && *apis == Apis::V3) || (api == "v1beta3" && *apis == Apis::V4) {
                    continue;
                }
                let text = format!("apiVersion: kubeadm.k8s.io/{api}\nkind: JoinConfiguration\n{join}\n");
                out.push((format!("join {api}"), got(load_join(Some(&text), &JoinFlags::default(), &host()))));
            }
        }
        Input::JoinFlags(set) => {
            let mut f = JoinFlags::default();
            set(&mut f);
            out.push(("join flags".into(), got(load_join(None, &f, &host()))));
        }
    }
    out
}

/// Why a run does not match `want`, if it does not.
fn mismatch(want: &Want, got: &Got) -> Option<String> {
    match (want, got) {
        (Want::Refused { field, says }, Got::Refused { field: f, message }) => (f != field || !message.contains(says))
            .then(|| format!("refused as {f:?} ({message}); want {field:?} saying {says:?}")),
        (Want::Accepted, Got::Loaded(_)) => None,
        (Want::Warned(w), Got::Loaded(ws)) => {
            (!ws.iter().any(|x| x.contains(w))).then(|| format!("loaded with warnings {ws:?}; want one with {w:?}"))
        }
        (_, Got::Refused { message, .. }) => Some(format!("refused: {message}")),
        (_, Got::Loaded(ws)) => Some(format!("loaded (warnings {ws:?})")),
        (_, Got::Failed(m)) => Some(format!("failed, not as invalid input: {m}")),
    }
}

fn check(rules: &[&Rule]) -> Vec<String> {
    let mut failures = Vec::new();
    for r in rules {
        for (at, g) in runs(&r.input) {
            if let Some(why) = mismatch(&r.want, &g) {
                failures.push(format!("{} ({}), {at}: {why}", r.id, r.go));
            }
        }
    }
    failures
}

#[test]
fn every_kubeadm_rule_keeps_its_listed_outcome() {
    let rules: Vec<&Rule> = init_rules::RULES.iter().chain(join_rules::RULES).collect();
    let failures = check(&rules);
    assert!(failures.is_empty(), "{} rule case(s) changed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_deliberate_difference_keeps_its_listed_outcome() {
    let rules: Vec<&Rule> = differs::DIFFERS.iter().map(|d| &d.rule).collect();
    let failures = check(&rules);
    assert!(failures.is_empty(), "{} difference case(s) changed:\n{}", failures.len(), failures.join("\n"));
}

/// Every validator function of the Go file read is covered by a rule, a difference, or is not applicable.
const GO_FUNCTIONS: &[&str] = &[
    "ValidateInitConfiguration",
    "ValidateClusterConfiguration",
    "ValidateAPIServer",
    "ValidateControllerManager",
    "ValidateScheduler",
    "ValidateJoinConfiguration",
    "ValidateJoinControlPlane",
    "ValidateNodeRegistrationOptions",
    "ValidateDiscovery",
    "ValidateDiscoveryBootstrapToken",
    "ValidateDiscoveryFile",
    "ValidateDiscoveryTokenAPIServer",
    "ValidateDiscoveryKubeConfigPath",
    "ValidateBootstrapTokens",
    "ValidateToken",
    "ValidateTokenGroups",
    "ValidateTokenUsages",
    "ValidateEtcd",
    "ValidateEncryptionAlgorithm",
    "ValidateCertSANs",
    "ValidateURLs",
    "ValidateIPFromString",
    "ValidatePort",
    "ValidateHostPort",
    "ValidateIPNetFromString",
    "ValidateServiceSubnetSize",
    "ValidatePodSubnetNodeMask",
    "ValidateDNS",
    "ValidateNetworking",
    "ValidateAbsolutePath",
    "ValidateMixedArguments",
    "ValidateFeatureGates",
    "ValidateAPIEndpoint",
    "ValidateCertificateKey",
    "ValidateIgnorePreflightErrors",
    "ValidateSocketPath",
    "ValidateImageRepository",
    "ValidateResetConfiguration",
    "ValidateExtraArgs",
    "ValidateUnmountFlags",
    "ValidateImagePullPolicy",
    "ValidateUpgradeConfiguration",
    "ValidateCertValidity",
    "componentconfigs.Validate",
];

#[test]
fn the_tables_cover_every_go_validator_once_per_id() {
    let mut ids: Vec<&str> = init_rules::RULES.iter().chain(join_rules::RULES).map(|r| r.id).collect();
    ids.extend(differs::DIFFERS.iter().map(|d| d.rule.id));
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "rule ids must be unique");
    let mentions: Vec<&str> = init_rules::RULES
        .iter()
        .chain(join_rules::RULES)
        .map(|r| r.go)
        .chain(differs::DIFFERS.iter().map(|d| d.rule.go))
        .chain(differs::NOT_APPLICABLE.iter().map(|(go, _)| *go))
        .collect();
    for f in GO_FUNCTIONS {
        assert!(
            mentions.iter().any(|m| m.split([',', ' ', '→']).any(|w| w == *f)),
            "{f} is in no rule, difference or not-applicable entry"
        );
    }
    for d in differs::DIFFERS {
        assert!(
            !d.kubeadm.is_empty() && !d.why.is_empty(),
            "{}: say what kubeadm does and why kbinit differs",
            d.rule.id
        );
    }
}
