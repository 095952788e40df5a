//! Kubernetes versions kbinit can set up, and what differs between them.
//!
//! One kbinit binary serves every minor from [`MIN_MINOR`] to [`MAX_MINOR`]. Everything that kubeadm does
//! differently from one release to the next (image tags, new files, new probes, new phases) is answered here, by
//! asking a [`KubeVersion`], so the planners never compare version numbers themselves.
//!
//! Sources: `kubeadm-reference.md` §P for 1.28–1.34, `kubeadm-1.35-1.38.md` for 1.35–1.37 (each predicate
//! names the line it follows). v1.38 is **not** supported: only its alpha.1/alpha.2 notes exist, no released
//! kubeadm to confirm its behaviour from, so `v1.38.x` is refused with the range error like any other minor
//! outside [`MIN_MINOR`]..=[`MAX_MINOR`].
//!
//! kbinit's 1.28–1.34 renders are kept exactly as they were before 1.35 support (issue 9). Some behaviours
//! kubeadm already had in 1.32–1.34 (`kubeadm-1.35-1.38.md` §2.5: named `probe-port` probes, the scheduler's
//! readiness probe, etcd 3.6 flag names, the instance-config merge into `config.yaml`, the CoreDNS probe ports)
//! are therefore switched on from 1.35 only; each such predicate says when kubeadm started.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The oldest Kubernetes minor kbinit sets up.
pub const MIN_MINOR: u32 = 28;
/// The newest Kubernetes minor kbinit sets up (the default). 1.38 stays out until a released kubeadm 1.38
/// confirms its behaviour.
pub const MAX_MINOR: u32 = 37;

/// Images and defaults that change per minor release (kubeadm's `constants.go` of that release).
struct MinorFacts {
    minor: u32,
    /// Patch used when only a label (`stable-1.30`) or nothing was given: kbinit resolves labels offline.
    default_patch: u32,
    etcd: &'static str,
    coredns: &'static str,
    pause: &'static str,
}

/// Image tags per minor. 1.35–1.37 (`kubeadm-1.35-1.38.md` §3 summary table):
/// - 1.35: etcd `3.6.6-0` and pause `3.10.1` from constants.go at k/k `8a84988b` (master just after v1.35.0);
///   CoreDNS `v1.13.1` from the same constants and a v1.35.8 constants fixture. **Unconfirmed (Q1)**: the
///   v1.35.0 changelog names only v1.12.3/v1.12.4, and the v1.35.0 tag's constants.go is not in the search
///   index (searched `CoreDNSVersion`, `SupportedEtcdVersion`; only 1.32-era and 1.34-era copies are stored).
/// - 1.36: etcd `3.6.8-0` (PR 137107; a v1.36.2 cluster runs it), CoreDNS `v1.14.2` (PR 137605), pause
///   `3.10.2` (PR 138199). Later 1.36 patches may carry etcd 3.6.9–3.6.11 (Q2, unconfirmed).
/// - 1.37: CoreDNS `v1.14.3` (PR 138536), pause `3.10.2` (no change seen). etcd `3.7.0-0` is **unconfirmed**
///   (PR 141032 thread: "we already bumped etcd v3.7.0"; the `-0` suffix follows every earlier tag; no stored
///   1.37 constants.go has a key-37 entry).
const FACTS: &[MinorFacts] = &[
    MinorFacts { minor: 28, default_patch: 7, etcd: "3.5.10-0", coredns: "v1.10.1", pause: "3.9" },
    MinorFacts { minor: 29, default_patch: 0, etcd: "3.5.10-0", coredns: "v1.11.1", pause: "3.9" },
    MinorFacts { minor: 30, default_patch: 0, etcd: "3.5.12-0", coredns: "v1.11.1", pause: "3.9" },
    MinorFacts { minor: 31, default_patch: 0, etcd: "3.5.15-0", coredns: "v1.11.3", pause: "3.10" },
    MinorFacts { minor: 32, default_patch: 0, etcd: "3.5.16-0", coredns: "v1.11.3", pause: "3.10" },
    MinorFacts { minor: 33, default_patch: 0, etcd: "3.5.21-0", coredns: "v1.12.0", pause: "3.10" },
    MinorFacts { minor: 34, default_patch: 0, etcd: "3.6.4-0", coredns: "v1.12.1", pause: "3.10.1" },
    MinorFacts { minor: 35, default_patch: 0, etcd: "3.6.6-0", coredns: "v1.13.1", pause: "3.10.1" },
    MinorFacts { minor: 36, default_patch: 0, etcd: "3.6.8-0", coredns: "v1.14.2", pause: "3.10.2" },
    MinorFacts { minor: 37, default_patch: 0, etcd: "3.7.0-0", coredns: "v1.14.3", pause: "3.10.2" },
];

/// The range kbinit sets up, as its error and `kbinit version` state it.
pub fn supported_range() -> String {
    format!("v1.{MIN_MINOR} to v1.{MAX_MINOR}")
}

/// A resolved Kubernetes version such as `v1.28.7` (pre-release suffixes like `-rc.1` are kept verbatim).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Always 1.
    pub major: u32,
    /// The minor release, between [`MIN_MINOR`] and [`MAX_MINOR`].
    pub minor: u32,
    /// The patch release.
    pub patch: u32,
    /// Anything after the patch number, with its leading `-` or `+` (e.g. `-rc.1`), or empty.
    pub suffix: String,
}

impl KubeVersion {
    /// The version kbinit sets up when none is given: the newest supported minor.
    pub fn default_version() -> KubeVersion {
        Self::for_minor(MAX_MINOR)
    }

    fn for_minor(minor: u32) -> KubeVersion {
        let patch = FACTS.iter().find(|f| f.minor == minor).map_or(0, |f| f.default_patch);
        KubeVersion { major: 1, minor, patch, suffix: String::new() }
    }

    /// Resolves what an operator wrote in `kubernetesVersion` / `--kubernetes-version`: a version with or
    /// without the leading `v`, or one of kubeadm's labels (`stable`, `stable-1`, `latest`, `stable-1.30`,
    /// `latest-1.30`), which kbinit resolves offline to the versions it knows.
    pub fn resolve(text: &str) -> Result<KubeVersion, Error> {
        let t = text.trim();
        let invalid = |reason: String| Error::invalid("kubernetesVersion", t, reason);
        if t.is_empty() || matches!(t, "stable" | "stable-1" | "latest" | "latest-1") {
            return Ok(Self::default_version());
        }
        let label_minor = t.strip_prefix("stable-1.").or_else(|| t.strip_prefix("latest-1."));
        let v = if let Some(minor) = label_minor {
            let minor: u32 = minor.parse().map_err(|_| invalid("not a known version label".into()))?;
            Self::for_minor(minor)
        } else {
            t.parse::<KubeVersion>().map_err(|e| Error::invalid("kubernetesVersion", t, e))?
        };
        if v.major == 1 && v.minor < MIN_MINOR {
            // kubeadm's NormalizeKubernetesVersion words it so (MinimumControlPlaneVersion; stored common.go)
            return Err(invalid(format!(
                "this version of kubeadm only supports deploying clusters with the control plane version >= \
                 v1.{MIN_MINOR}.0. Current version: {v} (kbinit sets up Kubernetes {})",
                supported_range()
            )));
        }
        if v.major != 1 || v.minor < MIN_MINOR || v.minor > MAX_MINOR {
            return Err(invalid(format!(
                "kbinit sets up Kubernetes {}; pick a version in that range{}",
                supported_range(),
                if v.major == 1 && v.minor == 38 {
                    " (v1.38 is not released: kbinit adds it once a released kubeadm 1.38 confirms its behaviour)"
                } else {
                    ""
                }
            )));
        }
        Ok(v)
    }

    fn facts(&self) -> &'static MinorFacts {
        // resolve() guarantees the minor is in the table; fall back to the newest row rather than panic
        FACTS.iter().find(|f| f.minor == self.minor).unwrap_or(&FACTS[FACTS.len() - 1])
    }

    /// `true` when this version is at least `1.<minor>`.
    pub fn at_least(&self, minor: u32) -> bool {
        self.minor >= minor
    }

    /// Image tag for the Kubernetes components: the version with characters outside `[-\w.]` replaced by `_`.
    pub fn image_tag(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
            .collect()
    }

    /// Default etcd image tag for this minor.
    pub fn etcd_tag(&self) -> &'static str {
        self.facts().etcd
    }
    /// Default CoreDNS image tag for this minor.
    pub fn coredns_tag(&self) -> &'static str {
        self.facts().coredns
    }
    /// Default pause image tag for this minor.
    pub fn pause_tag(&self) -> &'static str {
        self.facts().pause
    }
    /// 1.29+: `super-admin.conf` exists and `admin.conf` is in group `kubeadm:cluster-admins`.
    pub fn has_super_admin(&self) -> bool {
        self.at_least(29)
    }
    /// 1.31+: etcd is probed on `/livez` and `/readyz` instead of `/health`.
    pub fn etcd_livez_probes(&self) -> bool {
        self.at_least(31)
    }
    /// 1.29+: a joining control-plane node's etcd member is added as a learner and promoted later.
    pub fn etcd_learner_join(&self) -> bool {
        self.at_least(29)
    }
    /// 1.33+: the kubelet of a control-plane node talks to its local API server (ControlPlaneKubeletLocalMode).
    pub fn kubelet_local_mode(&self) -> bool {
        self.at_least(33)
    }
    /// 1.33+: wait-control-plane asks this node's own kube-apiserver (`https://<localAPIEndpoint>/livez` with
    /// admin.conf's credentials), not the control-plane endpoint, on init and on a control-plane join (kubeadm PR
    /// 134265, "ensure waiting for apiserver uses a local client", cherry-picked to release-1.33 as PR 134269 and
    /// to release-1.34 as PR 134270: the releases whose kubeadm runs the all-component check by default).
    pub fn waits_on_local_api_server(&self) -> bool {
        self.at_least(33)
    }
    /// 1.34+: every API call of `init` goes to the local API endpoint when the default admin.conf and
    /// super-admin.conf are used (kubeadm PR 138449, cherry-picked to release-1.34/1.35/1.36 as PRs
    /// 138685/138683/138682; the release-1.33 pick, PR 138686, was never merged: 1.33.11 was the last 1.33).
    pub fn init_talks_to_local_api_server(&self) -> bool {
        self.at_least(34)
    }
    /// 1.32+: `--dry-run` talks to a fake clientset with reactors and prints its calls in a new form (kubeadm
    /// PR 126776, CHANGELOG-1.32; real kubeadm 1.31.2 prints the old form, 1.33.3 the new).
    pub fn dry_run_fake_client(&self) -> bool {
        self.at_least(32)
    }
    /// 1.36+: extraArgs no longer sorted with kubeadm's defaults: the defaults a user flag does not replace are
    /// sorted by name then value, and the user's flags follow in the order given (kubeadm PR 135400,
    /// CHANGELOG-1.36; its `ArgumentsToCommand`: "Sort only the base", then "Append the overrides"). The PR was
    /// also picked into release-1.32 to 1.35 (PRs 135850-135853, merged January 2026), so those branches' later
    /// patch releases order flags this way too; which patch numbers is in no stored source, so kbinit keeps the
    /// x.y.0 order there (real kubeadm 1.33.3 sorts everything).
    pub fn extra_args_keep_order(&self) -> bool {
        self.at_least(36)
    }
    /// 1.31+: `corednsdeployment` is a patch target, applied to the CoreDNS Deployment before it is created
    /// (kubeadm 1.31.2 `util/patches` knownTargets, `addons/dns` applyCoreDNSDeploymentPatches; absent in 1.30.0).
    pub fn patches_coredns_deployment(&self) -> bool {
        self.at_least(31)
    }
    /// 1.37+: `kubeproxydaemonset` is a patch target, applied to the kube-proxy DaemonSet before it is created
    /// (kubeadm PR 138090, CHANGELOG-1.37 v1.37.0-alpha.1 "Changelog since v1.36.0"; knownTargets of 1.33.3 ends
    /// with corednsdeployment).
    pub fn patches_kube_proxy_daemonset(&self) -> bool {
        self.at_least(37)
    }
    /// 1.31+: the `kubeadm.k8s.io/v1beta4` configuration API exists.
    pub fn has_v1beta4(&self) -> bool {
        self.at_least(31)
    }
    /// 1.34+: ECDSA-P384 is an accepted `encryptionAlgorithm`.
    pub fn allows_ecdsa_p384(&self) -> bool {
        self.at_least(34)
    }
    /// 1.34+: every control-plane static Pod declares `ports: [{containerPort, name: probe-port}]` and its probes
    /// use `port: probe-port` (kubeadm PR 132776, first in 1.34; ports: apiserver bindPort, KCM 10257, scheduler
    /// 10259, etcd 2381 — `kubeadm-1.35-1.38.md` §2.5).
    pub fn named_probe_ports(&self) -> bool {
        self.at_least(34)
    }
    /// 1.32+: kube-scheduler is probed on `/livez` (liveness, startup) and `/readyz` (readiness) instead of
    /// `/healthz` (kubeadm PR 126945, CHANGELOG-1.32 v1.32.0-alpha.1; real kubeadm 1.31.2 writes `/healthz`,
    /// 1.33.3 `/livez` and `/readyz`).
    pub fn scheduler_livez_probes(&self) -> bool {
        self.at_least(32)
    }
    /// 1.29+: `imageMaximumGCAge: 0s` in the kubelet's `config.yaml` (KubeletConfiguration field added by PR
    /// 121275, CHANGELOG-1.29; a plain duration, so kubeadm's serializer writes its zero value).
    pub fn kubelet_image_maximum_gc_age(&self) -> bool {
        self.at_least(29)
    }
    /// 1.30+: `logging.options.text.infoBufferSize: "0"` beside `json` in the kubelet's `config.yaml` (component-base
    /// TextOptions, PR 114672, CHANGELOG-1.30 v1.30.0-alpha.3; real kubeadm 1.30.0 writes it).
    pub fn kubelet_text_logging_options(&self) -> bool {
        self.at_least(30)
    }
    /// 1.32+: `crashLoopBackOff: {}` in the kubelet's `config.yaml` (KEP-4603 field, PR 128374, alpha in 1.32; real
    /// kubeadm 1.31.2 does not write it, 1.33.3 does).
    pub fn kubelet_crash_loop_backoff(&self) -> bool {
        self.at_least(32)
    }
    /// 1.29+: etcd's client certificates (`etcd/healthcheck-client`, `apiserver-etcd-client`) carry no
    /// organization (kubeadm PRs 119859 and 120521, CHANGELOG-1.29); 1.28 gave them `system:masters`.
    pub fn etcd_clients_without_org(&self) -> bool {
        self.at_least(29)
    }
    /// 1.30+: the default `authorization-mode` goes into the kube-apiserver manifest only (not into the stored
    /// ClusterConfiguration), is left out when the user sets `authorization-config`, and a user's
    /// `authorization-mode` extra argument overrides it as written (kubeadm PR 123555, CHANGELOG-1.30;
    /// manifests.go of v1.30.0 and v1.33.3). Before, kubeadm wrote the filtered modes into the configuration it
    /// then uploaded.
    pub fn authorization_mode_in_manifest_only(&self) -> bool {
        self.at_least(30)
    }
    /// 1.29+: the `kubeadm:get-nodes` ClusterRole and ClusterRoleBinding carry no namespace (kubeadm PR 121239,
    /// approved in October 2023 for 1.29; tlsbootstrap.go of v1.28.3 sets `kube-system`, of v1.30.0 none).
    pub fn cluster_scoped_get_nodes_without_namespace(&self) -> bool {
        self.at_least(29)
    }
    /// 1.32+: CoreDNS's Corefile: `cache 30` becomes a block that disables caching of success and denial answers
    /// for the cluster domain (kubeadm PR 128359, CHANGELOG-1.32 v1.32.0; real kubeadm 1.31.2 writes the plain
    /// line, 1.33.3 the block).
    pub fn coredns_cache_block(&self) -> bool {
        self.at_least(32)
    }
    /// 1.29+: CoreDNS's container drops capability `ALL` rather than `all` (kubeadm PR 121384, approved in
    /// October 2023 for 1.29; real kubeadm 1.28.7 writes `all`, 1.30.0 `ALL`).
    pub fn coredns_drop_all_upper_case(&self) -> bool {
        self.at_least(29)
    }
    /// 1.29+: KubeProxyConfiguration v1alpha1 has `conntrack.tcpBeLiberal`, `conntrack.udpTimeout`,
    /// `conntrack.udpStreamTimeout` and the `nftables` block, which kubeadm's serializer writes at their zero
    /// values into the kube-proxy ConfigMap (PRs 120354, 120808, 121046, CHANGELOG-1.29 v1.29.0; types.go of the
    /// 1.30.0 tree; real kubeadm 1.30.0 writes them).
    pub fn kube_proxy_conntrack_nftables_fields(&self) -> bool {
        self.at_least(29)
    }
    /// 1.29+: `config images list` (and the pre-pull) order: the components, kube-proxy, CoreDNS, pause, etcd
    /// (kubeadm PR 114534, images.go of v1.30.0/v1.33.3 and real kubeadm 1.30.0; 1.28 put CoreDNS last).
    pub fn coredns_image_before_pause(&self) -> bool {
        self.at_least(29)
    }
    /// etcd gets the etcd 3.6 flag names `--feature-gates=InitialCorruptCheck=true` and
    /// `--watch-progress-notify-interval=5s` instead of the `--experimental-…` ones: kubeadm 1.34/1.35 pick them
    /// when the etcd image is ≥3.6 (the default there, 3.6.4-0 for 1.34); 1.36 removed the fallback (PR 135701),
    /// so from 1.36 the new names are written whatever `etcd.local.imageTag` says.
    pub fn etcd_36_flags(&self, etcd_tag: &str) -> bool {
        if self.at_least(36) {
            return true;
        }
        let mut nums = etcd_tag.trim_start_matches('v').split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
        self.at_least(34) && (major, minor) >= (3, 6)
    }
    /// Before 1.35 kubeadm writes `--pod-infra-container-image` into `kubeadm-flags.env`; the 1.35 kubelet no
    /// longer has that flag (PR 133779, 133778).
    pub fn writes_pod_infra_image(&self) -> bool {
        !self.at_least(35)
    }
    /// 1.34+ (NodeLocalCRISocket beta and on by default, PR 131981; the kubeadm docs' gate table: default `true`,
    /// alpha 1.32, beta 1.34; GA and locked in 1.36, PR 135742; gate removed in 1.37, PR 138645): the node's CRI
    /// socket goes to `/var/lib/kubelet/instance-config.yaml` (one line, `containerRuntimeEndpoint: "<socket>"`,
    /// `WriteInstanceConfigToDisk`), which `WriteConfigToDisk` applies to `config.yaml` as a strategic-merge patch;
    /// `kubeadm-flags.env` has no `--container-runtime-endpoint` and the Node no cri-socket annotation (the
    /// gate-on paths of cmd/kubeadm/app/phases/kubelet and cmd/phases/init/kubelet.go, v1.33.3, where the gate is
    /// still alpha and off).
    pub fn kubelet_config_merges_instance_config(&self) -> bool {
        self.at_least(34)
    }
    /// Before 1.36 kube-controller-manager mounts the flex-volume plugin directory (`flexvolume-dir`); 1.36
    /// removed it (PR 136423, ACTION REQUIRED).
    pub fn kcm_flexvolume_mount(&self) -> bool {
        !self.at_least(36)
    }
    /// 1.37+: kube-proxy's `mode` is written as `iptables` when the user left it empty (PR 139777).
    pub fn kube_proxy_explicit_iptables(&self) -> bool {
        self.at_least(37)
    }
    /// 1.37+: init warns when the KubeProxyConfiguration asks for `mode: ipvs` (deprecated by kube-proxy since
    /// 1.35; PR 139067). kubeadm's exact wording is **unconfirmed** (Q8); kbinit says what the note says.
    pub fn warns_kube_proxy_ipvs(&self) -> bool {
        self.at_least(37)
    }
    /// 1.37+: the API server's kubelet client certificate is in group `system:kubelet-api-admin` (PR 138957;
    /// kubeadm PR 3306's kinder test expects `O = system:kubelet-api-admin`), bound to the ClusterRole of that
    /// name at init.
    pub fn kubelet_api_admin_client(&self) -> bool {
        self.at_least(37)
    }
    /// The organization of `apiserver-kubelet-client.crt`: `system:kubelet-api-admin` from 1.37 (PR 138957,
    /// kubeadm PR 3306), `kubeadm:cluster-admins` in 1.29–1.36 (PR 121837, CHANGELOG-1.29 v1.29.0-rc.0; real
    /// kubeadm 1.30.0, 1.31.2, 1.33.3), `system:masters` in 1.28.
    pub fn apiserver_kubelet_client_org(&self) -> &'static str {
        if self.kubelet_api_admin_client() {
            "system:kubelet-api-admin"
        } else if self.at_least(29) {
            "kubeadm:cluster-admins"
        } else {
            "system:masters"
        }
    }
    /// 1.34+: CoreDNS declares `liveness-probe` 8080 and `readiness-probe` 8181 container ports and probes them
    /// by name (PR 131587, CHANGELOG-1.34 v1.34.0-alpha.1; real kubeadm 1.33.3 does not yet).
    pub fn coredns_named_probe_ports(&self) -> bool {
        self.at_least(34)
    }
    /// `kubeadm.k8s.io/v1beta3` is read before 1.37 (deprecated, with a warning, from 1.31); 1.37 removed it
    /// (PR 136016).
    pub fn accepts_v1beta3(&self) -> bool {
        !self.at_least(37)
    }
    /// 1.35+: `join phase control-plane-join etcd` is deprecated and hidden; `etcd-join` does its work
    /// (PR 134106).
    pub fn control_plane_join_etcd_hidden(&self) -> bool {
        self.at_least(35)
    }
    /// 1.35+ (for the kubelet's version): SystemVerification reports cgroups v1 as an error, not a warning
    /// (system-validators v1.12.1, PR 134744).
    pub fn cgroup_v1_is_error(&self) -> bool {
        self.at_least(35)
    }
    /// 1.36+: `upgrade apply`'s `CreateJob` health check waits 1m for its Job (create and completion), not 15s
    /// (PR 136273; 15s read in health.go @`f0100b7d`, v1.30–1.31; 1.32–1.35 kept it, **unconfirmed**).
    pub fn long_health_check_job(&self) -> bool {
        self.at_least(36)
    }
    /// 1.32+: the `CreateJob` health check's Job carries `activeDeadlineSeconds` equal to its timeout (PR 127333,
    /// merged for 1.32; also cherry-picked into later 1.30.x/1.31.x patches, #127346/#127347, which patch is
    /// **unconfirmed**, so kbinit writes it from 1.32).
    pub fn health_check_job_deadline(&self) -> bool {
        self.at_least(32)
    }
    /// The oldest control-plane version this release's kubeadm sets up or joins: one minor back
    /// (`MinimumControlPlaneVersion = getSkewedKubernetesVersion(-1)`, unchanged through the 1.36 cycle).
    pub fn minimum_control_plane_minor(&self) -> u32 {
        self.minor.saturating_sub(1)
    }
    /// The oldest kubelet this release's kubeadm supports: three minors back from 1.32 on
    /// (`MinimumKubeletVersion = getSkewedKubernetesVersion(-3)`, constants at 8a84988b and 898b9f80), one
    /// before (the kubelet skew policy of those releases as kbinit had it).
    pub fn minimum_kubelet_minor(&self) -> u32 {
        if self.at_least(32) { self.minor.saturating_sub(3) } else { self.minor.saturating_sub(1) }
    }
    /// Names of the `kubelet-finalize` sub-phases of this release, in order.
    pub fn kubelet_finalize_subphases(&self) -> &'static [&'static str] {
        match self.minor {
            ..=30 => &["experimental-cert-rotation"],
            31 => &["enable-client-cert-rotation", "experimental-cert-rotation"],
            _ => &["enable-client-cert-rotation"],
        }
    }
}

impl FromStr for KubeVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s.strip_prefix('v').unwrap_or(s);
        let split = body.find(['-', '+']).unwrap_or(body.len());
        let (nums, suffix) = body.split_at(split);
        let parts: Vec<&str> = nums.split('.').collect();
        if parts.len() != 3 {
            return Err("expected a version like v1.30.2".into());
        }
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) {
                return Err(format!("{p:?} is not a version number"));
            }
            p.parse::<u32>().map_err(|e| e.to_string())
        };
        Ok(KubeVersion { major: num(parts[0])?, minor: num(parts[1])?, patch: num(parts[2])?, suffix: suffix.into() })
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}{}", self.major, self.minor, self.patch, self.suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_versions_and_labels() {
        assert_eq!(KubeVersion::resolve("1.28.7").unwrap().to_string(), "v1.28.7");
        assert_eq!(KubeVersion::resolve("v1.30.2-rc.1").unwrap().suffix, "-rc.1");
        assert_eq!(KubeVersion::resolve("stable-1.31").unwrap().minor, 31);
        assert_eq!(KubeVersion::resolve("").unwrap().minor, MAX_MINOR);
    }

    #[test]
    fn rejects_out_of_range_and_garbage() {
        for bad in ["v1.27.3", "v1.99.0", "v2.28.0", "1.28", "v1.28.x", "stable-1.x", "v1.028.1"] {
            let err = KubeVersion::resolve(bad).unwrap_err().to_string();
            assert!(err.contains("kubernetesVersion"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_patch_of_1_35_to_1_37_and_the_newest_as_default() {
        for minor in 35..=37 {
            for patch in [0, 1, 4, 9, 15] {
                let v = KubeVersion::resolve(&format!("v1.{minor}.{patch}")).unwrap();
                assert_eq!((v.minor, v.patch), (minor, patch));
            }
            assert_eq!(
                KubeVersion::resolve(&format!("stable-1.{minor}")).unwrap().to_string(),
                format!("v1.{minor}.0")
            );
        }
        assert_eq!(KubeVersion::default_version().to_string(), "v1.37.0");
        assert_eq!(KubeVersion::resolve("stable").unwrap().to_string(), "v1.37.0");
        assert_eq!(supported_range(), "v1.28 to v1.37");
        let e = KubeVersion::resolve("v1.27.16").unwrap_err().to_string();
        assert!(e.contains("control plane version >= v1.28.0. Current version: v1.27.16"), "{e}");
        for bad in ["v1.38.0", "v1.38.0-alpha.2", "stable-1.38", "v1.27.16"] {
            let e = KubeVersion::resolve(bad).unwrap_err().to_string();
            assert!(e.contains("kubernetesVersion") && e.contains("kbinit sets up Kubernetes v1.28 to v1.37"), "{e}");
        }
        assert!(KubeVersion::resolve("v1.38.1").unwrap_err().to_string().contains("v1.38 is not released"));
    }

    #[test]
    fn newer_minor_facts() {
        let tags = |s: &str| {
            let v = KubeVersion::resolve(s).unwrap();
            (v.etcd_tag(), v.coredns_tag(), v.pause_tag())
        };
        assert_eq!(tags("v1.35.8"), ("3.6.6-0", "v1.13.1", "3.10.1"));
        assert_eq!(tags("v1.36.2"), ("3.6.8-0", "v1.14.2", "3.10.2"));
        assert_eq!(tags("v1.37.0"), ("3.7.0-0", "v1.14.3", "3.10.2"));
        let v = |s: &str| KubeVersion::resolve(s).unwrap();
        assert!(v("v1.36.0").accepts_v1beta3() && !v("v1.37.0").accepts_v1beta3());
        assert!(v("v1.34.0").writes_pod_infra_image() && !v("v1.35.0").writes_pod_infra_image());
        assert!(v("v1.35.0").kcm_flexvolume_mount() && !v("v1.36.0").kcm_flexvolume_mount());
        assert!(!v("v1.36.0").kube_proxy_explicit_iptables() && v("v1.37.0").kube_proxy_explicit_iptables());
        assert_eq!(v("v1.34.0").apiserver_kubelet_client_org(), "kubeadm:cluster-admins");
        assert_eq!(v("v1.28.7").apiserver_kubelet_client_org(), "system:masters");
        assert_eq!(v("v1.36.0").apiserver_kubelet_client_org(), "kubeadm:cluster-admins");
        assert_eq!(v("v1.37.0").apiserver_kubelet_client_org(), "system:kubelet-api-admin");
        // etcd 3.6 flag names: by image in 1.34 and 1.35, always from 1.36, never before 1.34
        assert!(v("v1.35.0").etcd_36_flags("3.6.6-0") && !v("v1.35.0").etcd_36_flags("3.5.24-0"));
        assert!(v("v1.36.0").etcd_36_flags("3.5.24-0") && v("v1.34.0").etcd_36_flags("3.6.4-0"));
        assert!(!v("v1.33.0").etcd_36_flags("3.6.4-0") && !v("v1.34.0").etcd_36_flags("3.5.21-0"));
        // the kubelet configuration's zero values, each from the release that added its field
        assert!(!v("v1.28.7").kubelet_image_maximum_gc_age() && v("v1.29.0").kubelet_image_maximum_gc_age());
        assert!(!v("v1.29.0").kubelet_text_logging_options() && v("v1.30.0").kubelet_text_logging_options());
        assert!(!v("v1.31.2").kubelet_crash_loop_backoff() && v("v1.32.0").kubelet_crash_loop_backoff());
        assert!(!v("v1.31.2").scheduler_livez_probes() && v("v1.32.0").scheduler_livez_probes());
        assert!(!v("v1.33.3").named_probe_ports() && v("v1.34.0").named_probe_ports());
        assert_eq!((v("v1.37.0").minimum_kubelet_minor(), v("v1.37.0").minimum_control_plane_minor()), (34, 36));
        assert_eq!(v("v1.30.0").minimum_kubelet_minor(), 29);
    }

    #[test]
    fn per_minor_facts() {
        let v = KubeVersion::resolve("v1.28.7").unwrap();
        assert_eq!((v.etcd_tag(), v.coredns_tag(), v.pause_tag()), ("3.5.10-0", "v1.10.1", "3.9"));
        assert!(!v.has_super_admin());
        assert!(KubeVersion::resolve("v1.29.1").unwrap().has_super_admin());
        assert_eq!(KubeVersion::resolve("v1.30.0+meta").unwrap().image_tag(), "v1.30.0_meta");
    }
}
