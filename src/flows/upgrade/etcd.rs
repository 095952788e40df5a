//! etcd's part of the control-plane upgrade (sheet §4.3, `performEtcdStaticPodUpgrade`): the copy of its data
//! dir to `/etc/kubernetes/tmp/kubeadm-backup-etcd-<date>/` before its manifest changes, the copy back when the
//! new etcd never becomes healthy (with the failed member stopped first), and the v1.31+ restart of an unchanged
//! etcd whose certificates were renewed because kube-apiserver changes (PR 124688).

use std::time::{Duration, Instant};

use kbinit_phases::config::Etcd;
use kbinit_phases::upgrade::{backup, target};

use crate::flows::upgrade::static_pods::{StaticPodUpgrade, fmt_timeout, manifest_path};
use crate::host::tree::{copy_dir, mark_complete};
use crate::output::Output;

/// The empty file inside the etcd data backup that says the copy finished.
const COMPLETE: &str = ".kbinit-complete";

impl StaticPodUpgrade<'_> {
    /// v1.31+ (PR 124688): an unchanged etcd manifest is still restarted with renewed certificates when the
    /// kube-apiserver manifest is going to change and certificate renewal is on.
    pub(super) fn etcd_restart_wanted(
        &self,
        proxy: &[kbinit_phases::config::EnvVar],
        membership: &(Vec<(String, String)>, bool),
    ) -> anyhow::Result<bool> {
        if !self.renew_certs || !self.init.cluster.kubernetes_version.at_least(31) {
            return Ok(false);
        }
        let Some(current) = self.read(&manifest_path("kube-apiserver")) else { return Ok(false) };
        let rendered = target::target_manifest("kube-apiserver", self.init, self.host(), proxy, membership)?;
        let (new, _) = target::patch_manifest("kube-apiserver", rendered, self.patches)?;
        Ok(!target::manifests_equal(&String::from_utf8_lossy(&current), &new))
    }

    /// Renews etcd's certificates and restarts its static Pod with the same manifest: the manifest is taken away
    /// until etcd stops answering, then put back, and etcd must answer again (else: data and manifest restored).
    pub(super) fn restart_etcd(
        &self,
        current: &[u8],
        backup_dir: &str,
        etcd_dir: &str,
        out: &Output,
    ) -> anyhow::Result<()> {
        let path = manifest_path("etcd");
        let backup_file = format!("{backup_dir}/etcd.yaml");
        self.host().ensure_dir(backup_dir, 0o700)?;
        self.host().write(backup::JOURNAL, format!("{backup_dir} {etcd_dir}\n").as_bytes(), 0o600)?;
        self.backup_etcd_data(etcd_dir)?;
        self.renew("etcd", out)?;
        self.host().write(&backup_file, current, 0o600)?;
        out.say(&format!(
            "[upgrade/staticpods] Restarting the etcd static pod and backing up its manifest to {backup_file:?}"
        ));
        self.host().remove(&path).map_err(|e| anyhow::anyhow!("removing {path}: {e}"))?;
        let stop = Instant::now();
        while stop.elapsed() < Duration::from_secs(30) && self.wait_healthy("etcd", Duration::from_millis(1)).is_ok() {
            std::thread::sleep(Duration::from_millis(300));
        }
        self.host().write(&path, current, 0o600)?;
        out.say("[upgrade/staticpods] Waiting for the kubelet to restart the component");
        out.say(&format!("[upgrade/staticpods] This can take up to {}", fmt_timeout(self.timeout)));
        if let Err(why) = self.wait_healthy("etcd", self.timeout) {
            return Err(self.roll_back("etcd", &why, &["etcd"], backup_dir, etcd_dir, current, out));
        }
        out.say("[upgrade/staticpods] Component \"etcd\" upgraded successfully!");
        out.say("[upgrade/etcd] Waiting for etcd to become available");
        Ok(())
    }

    pub(super) fn data_dir(&self) -> Option<String> {
        match &self.init.cluster.etcd {
            Etcd::Local(l) => Some(l.data_dir.clone()),
            Etcd::External(_) => None,
        }
    }

    pub(super) fn backup_etcd_data(&self, etcd_dir: &str) -> anyhow::Result<()> {
        let Some(data) = self.data_dir() else { return Ok(()) };
        let dst = self.host().path(etcd_dir);
        if dst.join(COMPLETE).exists() {
            return Ok(());
        }
        let _ = self.host().remove_tree(etcd_dir);
        copy_dir(&self.host().path(&data), &dst).map_err(|e| anyhow::anyhow!("failed to back up etcd data: {e}"))?;
        mark_complete(&dst, COMPLETE).map_err(|e| anyhow::anyhow!("failed to back up etcd data: {e}"))
    }

    pub(super) fn restore_etcd_data(&self, etcd_dir: &str, out: &Output) -> Result<(), String> {
        let Some(data) = self.data_dir() else { return Ok(()) };
        // the failed member must be stopped before its data is replaced: take its manifest away first
        let path = manifest_path("etcd");
        let _ = self.host().remove(&path);
        let stop = Instant::now();
        while stop.elapsed() < Duration::from_secs(20) && self.wait_healthy("etcd", Duration::from_millis(1)).is_ok() {
            std::thread::sleep(Duration::from_millis(500));
        }
        std::thread::sleep(Duration::from_secs(1));
        out.say("[upgrade/etcd] Rolling back etcd data");
        let src = self.host().path(etcd_dir);
        let dst = self.host().path(&data);
        let _ = self.host().remove_tree(&data);
        copy_dir(&src, &dst).map_err(|e| {
            format!("fatal error rolling back local etcd cluster datadir: {e}, the backup of etcd database is stored here:({etcd_dir})")
        })?;
        let _ = self.host().remove(&format!("{data}/{COMPLETE}"));
        out.say("[upgrade/etcd] Etcd data rollback successful");
        Ok(())
    }
}
