//! The control-plane phase of `upgrade apply` and `upgrade node`: etcd, then kube-apiserver,
//! kube-controller-manager and kube-scheduler, one at a time (kubeadm's `StaticPodControlPlane`, sheet §4.3).
//!
//! Per component: the new manifest is rendered by init's renderers; an unchanged one is left alone; else its
//! certificates are renewed, the old manifest is copied to `/etc/kubernetes/tmp/kubeadm-backup-manifests-<date>/`
//! (etcd's data dir to `kubeadm-backup-etcd-<date>/` first), the new one is written atomically, and kbinit waits
//! for the kubelet's restart (the mirror Pod's `kubernetes.io/config.hash` changes) and then for the component's
//! health endpoint. If that does not happen within `timeouts.upgradeManifests`, the old manifests go back byte
//! for byte (and etcd's data, when etcd failed), kbinit waits for the old component to answer again, and fails
//! naming the component, the URL it probed and its last answer. Unlike kubeadm it waits for the restored
//! component too. From v1.31 an unchanged etcd manifest is still restarted with renewed certificates when
//! kube-apiserver's manifest changes (kubeadm PR 124688): the manifest is taken away until etcd stops answering
//! and put back.
//!
//! A journal (`/etc/kubernetes/tmp/kbinit-upgrade-in-progress`, naming the backup dir) exists while a swap may be
//! in flight: a run killed half way leaves it, and the next run reuses that backup dir, so a component whose new
//! manifest is already in place is checked for health (and rolled back to the first run's backup if it is not
//! healthy) instead of being taken as done.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kbinit_phases::api::ResourceType;
use kbinit_phases::certs::{OnDemandKeys, renew};
use kbinit_phases::config::InitConfiguration;
use kbinit_phases::paths;
use kbinit_phases::plan::Step;
use kbinit_phases::upgrade::{backup, target};
use serde_json::Value;

use crate::api::wait::{Probe, wait_one};
use crate::flows::upgrade::Context;
use crate::output::Output;

/// How one control-plane upgrade runs.
pub struct StaticPodUpgrade<'a> {
    /// What was read.
    pub ctx: &'a Context,
    /// This node at the target version.
    pub init: &'a InitConfiguration,
    /// `--certificate-renewal`.
    pub renew_certs: bool,
    /// `--etcd-upgrade`.
    pub etcd_upgrade: bool,
    /// Per component.
    pub timeout: Duration,
    /// `--patches`.
    pub patches: &'a [kbinit_phases::patches::Patch],
    /// `upgrade node` (kubeadm says "control plane instance" there).
    pub instance: bool,
}

pub(super) fn manifest_path(c: &str) -> String {
    format!("{}/{c}.yaml", paths::MANIFESTS_DIR)
}

pub(super) fn fmt_timeout(d: Duration) -> String {
    kbinit_phases::go_format::duration::format_duration(d)
}

/// The health URL of a component on this node.
pub fn health_probe(c: &str, init: &InitConfiguration) -> Probe {
    let ep = &init.local_api_endpoint;
    let host = |ip: std::net::IpAddr| if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
    match c {
        "etcd" => Probe::Anonymous("http://127.0.0.1:2381/health".into()),
        "kube-apiserver" => Probe::Anonymous(format!("https://{}:{}/livez", host(ep.advertise_address), ep.bind_port)),
        _ => {
            let check = crate::api::wait::component_checks(init).into_iter().find(|k| k.name == c);
            check.map_or_else(|| Probe::Anonymous(String::new()), |k| k.probe)
        }
    }
}

fn probe_url(p: &Probe) -> String {
    match p {
        Probe::Anonymous(u) | Probe::Admin(u) => u.clone(),
    }
}

impl StaticPodUpgrade<'_> {
    pub(super) fn host(&self) -> &crate::host::Host {
        &self.ctx.host
    }

    pub(super) fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.host().read(path).ok()
    }

    /// The mirror Pod's `kubernetes.io/config.hash`, or `None` while it cannot be read.
    fn hash(&self, c: &str) -> Option<String> {
        let pods = ResourceType::of::<Pod>();
        let name = format!("{c}-{}", self.ctx.node_name);
        let pod = self.ctx.api.get_once(&pods, Some("kube-system"), &name).ok()?;
        pod.pointer("/metadata/annotations/kubernetes.io~1config.hash").and_then(Value::as_str).map(str::to_string)
    }

    /// Waits for the hash to differ from `before`, then for the health endpoint; the error names what failed.
    fn wait_restarted(&self, c: &str, before: Option<&str>) -> Result<(), String> {
        let start = Instant::now();
        if let Some(before) = before {
            loop {
                match self.hash(c) {
                    Some(h) if h != before => break,
                    _ if start.elapsed() >= self.timeout => {
                        // say what the component itself answers too (with a single API server, a broken new one
                        // is also why its mirror Pod cannot be read)
                        let health = match self.wait_healthy(c, Duration::from_secs(1)) {
                            Ok(()) => "its health endpoint answers".to_string(),
                            Err(e) => e,
                        };
                        return Err(format!(
                            "static Pod hash for component {c} on Node {} did not change after {}; {health}",
                            self.ctx.node_name,
                            fmt_timeout(self.timeout)
                        ));
                    }
                    _ => std::thread::sleep(Duration::from_millis(500)),
                }
            }
        }
        self.wait_healthy(c, self.timeout.saturating_sub(start.elapsed()).max(Duration::from_secs(1)))
    }

    pub(super) fn wait_healthy(&self, c: &str, timeout: Duration) -> Result<(), String> {
        let probe = health_probe(c, self.init);
        wait_one(&probe, &self.ctx.api, timeout)
            .map(|_| ())
            .map_err(|last| format!("probed {}, last answer: {last}", probe_url(&probe)))
    }

    pub(super) fn renew(&self, c: &str, out: &Output) -> anyhow::Result<()> {
        if !self.renew_certs {
            return Ok(());
        }
        for name in target::certificates_of(c, &self.init.cluster) {
            self.renew_one(name, true, out)?;
        }
        Ok(())
    }

    /// Renews one certificate with the local CA (saying so when `announce`); with an external CA only says that
    /// it cannot.
    fn renew_one(&self, name: &str, announce: bool, out: &Output) -> anyhow::Result<()> {
        let now = time::OffsetDateTime::now_utc();
        let steps =
            renew::plan_renew(name, &self.init.cluster, paths::KUBERNETES_DIR, now, self.host(), &OnDemandKeys)?;
        if steps.iter().any(|s| matches!(s, Step::Say(l) if l.starts_with("Detected external"))) {
            out.say(&format!("[upgrade/staticpods] External CA detected, {name} certificate can't be renewed"));
            return Ok(());
        }
        if announce {
            out.say(&format!("[upgrade/staticpods] Renewing {name} certificate"));
        }
        let writes: Vec<Step> = steps.into_iter().filter(|s| !matches!(s, Step::Say(_))).collect();
        crate::host::apply::apply(&writes, self.host(), out)
    }

    /// After the components, kubeadm renews the client certificate embedded in admin.conf, and in super-admin.conf
    /// where that file exists (`StaticPodControlPlane` in cmd/kubeadm/app/phases/upgrade/staticpods.go of v1.30.0,
    /// v1.31.2 and v1.33.3; v1.28's renews admin.conf only, and has no super-admin.conf), quietly: only an
    /// external CA is reported. Every run does it, also one whose manifests were all unchanged.
    fn renew_admin_kubeconfigs(&self, out: &Output) -> anyhow::Result<()> {
        if !self.renew_certs || self.host().is_dry_run() {
            return Ok(());
        }
        let super_admin = self.init.cluster.kubernetes_version.has_super_admin()
            && self.host().path(&paths::join(paths::KUBERNETES_DIR, "super-admin.conf")).exists();
        for name in std::iter::once("admin.conf").chain(super_admin.then_some("super-admin.conf")) {
            self.renew_one(name, false, out)
                .map_err(|e| anyhow::anyhow!("failed to upgrade the {name} certificates: {e:#}"))?;
        }
        Ok(())
    }

    /// Upgrades every component in order; on a failure rolls back and returns the error.
    pub fn run(&self, out: &Output) -> anyhow::Result<()> {
        let v = &self.init.cluster.kubernetes_version;
        if self.host().is_dry_run() {
            out.say(&format!(
                "[dryrun] Would upgrade your static Pod-hosted control plane to version {:?}",
                v.to_string()
            ));
        } else {
            let what = if self.instance { "control plane instance" } else { "control plane" };
            out.say(&format!(
                "[upgrade/control-plane] Upgrading your static Pod-hosted {what} to version {:?} (timeout: {})...",
                v.to_string(),
                fmt_timeout(self.timeout)
            ));
        }
        let journal = self.read(backup::JOURNAL).and_then(|b| String::from_utf8(b).ok());
        let now = time::OffsetDateTime::now_utc();
        let (backup_dir, etcd_dir) =
            match journal.as_deref().and_then(|j| j.lines().next()).and_then(|l| l.split_once(' ')) {
                Some((m, e)) => {
                    out.say(&format!("[upgrade/staticpods] Resuming an interrupted upgrade: its backups are in {m:?}"));
                    (m.to_string(), e.to_string())
                }
                None => (backup::manifests_dir(now), backup::etcd_dir(now)),
            };
        let membership = match self.read(&manifest_path("etcd")).and_then(|b| String::from_utf8(b).ok()) {
            Some(t) => target::etcd_membership(&t)?,
            None => (Vec::new(), false),
        };
        let proxy = crate::host::facts::proxy_env();
        let mut swapped: Vec<&str> = Vec::new();
        for c in target::components(&self.init.cluster) {
            let path = manifest_path(c);
            let backup_file = format!("{backup_dir}/{c}.yaml");
            if self.read(&path).is_none()
                && !self.host().is_dry_run()
                && let Some(saved) = self.read(&backup_file)
            {
                // an interrupted restart took the manifest away: put the saved one back first
                out.say(&format!(
                    "[upgrade/staticpods] Restoring {path} from {backup_file}, left by an interrupted run"
                ));
                self.host().write(&path, &saved, 0o600)?;
            }
            let Some(current) = self.read(&path) else {
                out.warn(&format!("{path} does not exist on this node: {c} is not upgraded"));
                continue;
            };
            let current_text = String::from_utf8_lossy(&current).into_owned();
            if c == "etcd" {
                if !self.etcd_upgrade {
                    continue;
                }
                let cur_tag = target::manifest_image_tag(&current_text);
                let want = kbinit_phases::upgrade::plan::etcd_tag(&self.init.cluster, v);
                if target::etcd_would_downgrade(&cur_tag, &want) {
                    out.say(&format!(
                        "[upgrade/etcd] Non fatal issue encountered during upgrade: the desired etcd version {want:?} is older than the currently installed {cur_tag:?}. Skipping etcd upgrade"
                    ));
                    continue;
                }
            }
            let rendered = target::target_manifest(c, self.init, self.host(), &proxy, &membership)?;
            out.say(&format!("[upgrade/staticpods] Preparing for {c:?} upgrade"));
            let (new, patched) = target::patch_manifest(c, rendered, self.patches)?;
            for line in &patched {
                out.say(line);
            }
            if target::manifests_equal(&current_text, &new) {
                if c == "etcd" && self.etcd_restart_wanted(&proxy, &membership)? && !self.host().is_dry_run() {
                    self.restart_etcd(&current, &backup_dir, &etcd_dir, out)?;
                    continue;
                }
                let earlier = self.read(&backup_file).filter(|b| *b != current);
                match earlier {
                    Some(old) if !self.host().is_dry_run() => {
                        // a previous run swapped this one and was interrupted: it is done only when it is healthy
                        out.say(&format!("[upgrade/staticpods] The new manifest of {c} is in place from an interrupted run; checking that it is healthy"));
                        if let Err(why) = self.wait_healthy(c, self.timeout) {
                            swapped.push(c);
                            return Err(self.roll_back(c, &why, &swapped, &backup_dir, &etcd_dir, &old, out));
                        }
                        out.say(&format!("[upgrade/staticpods] Component {c:?} upgraded successfully!"));
                    }
                    _ => out.say(&format!(
                        "[upgrade/staticpods] Current and new manifests of {c} are equal, skipping upgrade"
                    )),
                }
                continue;
            }
            if self.host().is_dry_run() {
                out.say(&format!("[dryrun] Would write file {path:?} with content:"));
                out.raw(&new.lines().map(|l| format!("\t{l}\n")).collect::<String>());
                continue;
            }
            let before = self.hash(c);
            self.host().ensure_dir(&backup_dir, 0o700)?;
            self.host().write(backup::JOURNAL, format!("{backup_dir} {etcd_dir}\n").as_bytes(), 0o600)?;
            if c == "etcd" {
                self.backup_etcd_data(&etcd_dir)?;
            }
            self.renew(c, out)?;
            if self.read(&backup_file).is_none() {
                self.host().write(&backup_file, &current, 0o600)?;
            }
            out.say(&format!(
                "[upgrade/staticpods] Moving new manifest to {path:?} and backing up old manifest to {backup_file:?}"
            ));
            self.host().write(&path, new.as_bytes(), 0o600)?;
            swapped.push(c);
            out.say("[upgrade/staticpods] Waiting for the kubelet to restart the component");
            out.say(&format!("[upgrade/staticpods] This can take up to {}", fmt_timeout(self.timeout)));
            if let Err(why) = self.wait_restarted(c, before.as_deref()) {
                return Err(self.roll_back(c, &why, &swapped, &backup_dir, &etcd_dir, &current, out));
            }
            out.say(&format!("[upgrade/staticpods] Component {c:?} upgraded successfully!"));
            if c == "etcd" {
                out.say("[upgrade/etcd] Waiting for etcd to become available");
            }
        }
        if let Err(e) = self.renew_admin_kubeconfigs(out) {
            return Err(self.roll_back_all(e, &swapped, &backup_dir, out));
        }
        if !self.host().is_dry_run() {
            let j = self.host().path(backup::JOURNAL);
            if j.exists() {
                self.host()
                    .remove(backup::JOURNAL)
                    .map_err(|e| anyhow::anyhow!("removing {}: {e}", backup::JOURNAL))?;
            }
            out.say("[upgrade/control-plane] The control plane instance for this node was successfully upgraded!");
        }
        Ok(())
    }

    /// After a failure that is no component's (admin.conf's renewal): the manifests swapped in this run except
    /// etcd's go back from the backup, as kubeadm's rollback without etcd does, and the error says which.
    fn roll_back_all(&self, cause: anyhow::Error, swapped: &[&str], backup_dir: &str, out: &Output) -> anyhow::Error {
        out.say("[upgrade/staticpods] Rolling back to the previous manifests");
        let mut restored = Vec::new();
        let mut problems = Vec::new();
        for c in swapped.iter().rev().filter(|c| **c != "etcd") {
            match self.read(&format!("{backup_dir}/{c}.yaml")) {
                Some(old) => match self.host().write(&manifest_path(c), &old, 0o600) {
                    Ok(()) => restored.push(c.to_string()),
                    Err(e) => problems.push(format!("{e:#}")),
                },
                None => problems.push(format!("no backup of {c} in {backup_dir}")),
            }
        }
        let extra =
            if problems.is_empty() { String::new() } else { format!("; rollback problems: {}", problems.join("; ")) };
        anyhow::anyhow!(
            "couldn't upgrade control plane: {cause:#}. kbinit restored the previous manifests of [{}] from {backup_dir}{extra}",
            restored.join(" ")
        )
    }

    /// Restores the manifests swapped in this run (etcd's only when etcd failed, with its data), waits for the
    /// failed component's previous version, and builds the error.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn roll_back(
        &self,
        failed: &str,
        why: &str,
        swapped: &[&str],
        backup_dir: &str,
        etcd_dir: &str,
        failed_old: &[u8],
        out: &Output,
    ) -> anyhow::Error {
        out.say(&format!("[upgrade/staticpods] Component {failed:?} did not become healthy: {why}"));
        out.say("[upgrade/staticpods] Rolling back to the previous manifests");
        let mut restored = Vec::new();
        let mut problems = Vec::new();
        for c in swapped.iter().rev() {
            if *c == "etcd" && failed != "etcd" {
                continue;
            }
            let path = manifest_path(c);
            let old =
                if *c == failed { Some(failed_old.to_vec()) } else { self.read(&format!("{backup_dir}/{c}.yaml")) };
            let Some(old) = old else {
                problems.push(format!("no backup of {c} in {backup_dir}"));
                continue;
            };
            if *c == "etcd"
                && let Err(e) = self.restore_etcd_data(etcd_dir, out)
            {
                problems.push(e);
            }
            match self.host().write(&path, &old, 0o600) {
                Ok(()) => restored.push(c.to_string()),
                Err(e) => problems.push(format!("{e:#}")),
            }
        }
        let again = self.wait_healthy(failed, self.timeout);
        if again.is_ok() && problems.is_empty() {
            let _ = self.host().remove(backup::JOURNAL);
        }
        let state = match &again {
            Ok(()) => format!("the previous {failed} is healthy again"),
            Err(e) => format!("the previous {failed} is NOT healthy either ({e})"),
        };
        let extra =
            if problems.is_empty() { String::new() } else { format!("; rollback problems: {}", problems.join("; ")) };
        anyhow::anyhow!(
            "couldn't upgrade control plane: component {failed:?} was not healthy within {} after its upgrade to {}: {why}. kbinit restored the previous manifests of [{}] from {backup_dir}, and {state}{extra}",
            fmt_timeout(self.timeout),
            self.init.cluster.kubernetes_version,
            restored.join(" ")
        )
    }
}
