//! What `kbinit reset` does to the node (§L): remove this node's etcd member through the etcd API and empty the
//! etcd data dir (remove-etcd-member); stop the kubelet, unmount what is mounted under /var/lib/kubelet, remove
//! the containers, empty the manifest, kubelet and certificate directories and delete the kubeconfig files
//! (cleanup-node). Directories themselves are kept; nothing outside this list is touched.
//!
//! Everything on disk is under `--root`. The machine-wide actions — systemctl, unmounting — happen only when the
//! root is `/`; under another root reset says so instead of touching the real host. Containers are removed
//! through the CRI socket, itself a node path: under another root, only a runtime listening under that root is
//! asked. With `--dry-run`
//! every action is listed as `[reset] Would …` and nothing changes. Failures to remove the etcd member, stop the
//! kubelet, unmount or remove containers are warnings that say what to do by hand, as kubeadm's are.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kbinit_phases::paths;
use serde_json::Value;

use crate::cri::{CriClient, ops, socket_file};
use crate::etcd::{EtcdClient, EtcdTls};
use crate::flows::reset::ResetData;
use crate::host::facts::KNOWN_CRI_SOCKETS;
use crate::host::tree::clean_dir;
use crate::output::Output;

/// The etcd manifest kubeadm reads the data dir and this member's URLs from.
pub const ETCD_MANIFEST: &str = "/etc/kubernetes/manifests/etcd.yaml";

/// The etcd data dir when there is no etcd manifest (kubeadm's default).
pub const DEFAULT_ETCD_DATA_DIR: &str = "/var/lib/etcd";

/// kubeadm's default certificate directory.
pub const DEFAULT_CERT_DIR: &str = "/etc/kubernetes/pki";

/// The kubeconfig files reset deletes, in kubeadm's order (super-admin.conf from 1.29).
pub const KUBECONFIG_FILES: [&str; 6] = [
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/super-admin.conf",
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/bootstrap-kubelet.conf",
    "/etc/kubernetes/controller-manager.conf",
    "/etc/kubernetes/scheduler.conf",
];

/// What the local etcd manifest says about this node's member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMember {
    /// The `etcd-data` hostPath.
    pub data_dir: String,
    /// `--initial-advertise-peer-urls` (first).
    pub peer_url: Option<String>,
    /// `--advertise-client-urls` (first).
    pub client_url: Option<String>,
}

/// Reads this node's etcd member from the etcd static Pod manifest; `None` when there is none kbinit can read.
pub fn local_member(text: &str) -> Option<LocalMember> {
    let pod: Value = kbinit_phases::go_format::yaml::from_yaml(text).ok()?;
    let data_dir = pod
        .pointer("/spec/volumes")?
        .as_array()?
        .iter()
        .find(|v| v["name"].as_str() == Some("etcd-data"))?
        .pointer("/hostPath/path")?
        .as_str()?
        .to_string();
    let command: Vec<&str> = pod
        .pointer("/spec/containers/0/command")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let flag = |name: &str| {
        command
            .iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")))
            .and_then(|v| v.split(',').next())
            .map(str::to_string)
    };
    Some(LocalMember {
        data_dir,
        peer_url: flag("initial-advertise-peer-urls"),
        client_url: flag("advertise-client-urls"),
    })
}

/// remove-etcd-member: this node's member leaves the etcd cluster (skipped when it is the only member, as
/// kubeadm does), then the data dir's contents are deleted — also after a failed removal.
pub fn remove_etcd_member(d: &ResetData, out: &Output) -> anyhow::Result<()> {
    let member = match d.host.read(ETCD_MANIFEST) {
        // no manifest (a worker, or cleanup-node ran first): kubeadm falls back to the default data dir
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            LocalMember { data_dir: DEFAULT_ETCD_DATA_DIR.into(), peer_url: None, client_url: None }
        }
        read => match read.ok().and_then(|b| local_member(&String::from_utf8_lossy(&b))) {
            Some(m) => m,
            None => {
                out.say("[reset] No etcd config found. Assuming external etcd");
                out.say("[reset] Please, manually reset etcd to prevent further issues");
                return Ok(());
            }
        },
    };
    if member.peer_url.is_none() {
        out.debug(1, &format!("no {ETCD_MANIFEST}: no etcd member to remove from a cluster"));
    } else if d.host.is_dry_run() {
        out.say("[reset] Would remove the etcd member on this node from the etcd cluster");
    } else if let Err(e) = leave_etcd_cluster(d, &member, out) {
        out.warn(&format!(
            "[reset] Failed to remove etcd member: {e:#}, please manually remove this etcd member using etcdctl"
        ));
    }
    let dir = &member.data_dir;
    if !crate::preflight::machine::dir_non_empty(&d.host, dir) {
        return Ok(());
    }
    if d.host.is_dry_run() {
        out.say(&format!("[reset] Would delete contents of the etcd data directory: {dir}"));
        return Ok(());
    }
    match clean_dir(&d.host.path(dir)) {
        Ok(()) => out.say(&format!("[reset] Deleted contents of the etcd data directory: {dir}")),
        Err(e) => out.warn(&format!("[reset] Failed to delete contents of the etcd directory: {dir:?}, error: {e:#}")),
    }
    Ok(())
}

/// Removes this node's member (a learner too) through its own etcd endpoint.
fn leave_etcd_cluster(d: &ResetData, member: &LocalMember, out: &Output) -> anyhow::Result<()> {
    let (Some(peer_url), Some(client_url)) = (&member.peer_url, &member.client_url) else {
        anyhow::bail!("{ETCD_MANIFEST} names no --initial-advertise-peer-urls or --advertise-client-urls")
    };
    let tls = EtcdTls::from_pki(&d.host, &d.opts.cert_dir)?;
    let mut client = EtcdClient::connect(std::slice::from_ref(client_url), &tls, Duration::from_secs(10))?;
    let members = client.member_list()?;
    let mine = members.iter().find(|m| m.peer_urls.iter().any(|u| u == peer_url));
    let Some(mine) = mine else {
        out.say(&format!("[reset] The etcd member with peer URL {peer_url} is not in the cluster (any more)"));
        return Ok(());
    };
    if members.len() == 1 {
        out.say("[reset] This is the only remaining etcd member in the etcd cluster, skip removing it");
        return Ok(());
    }
    let what = if mine.is_learner { "learner" } else { "member" };
    client.remove_when_allowed(mine.id, Instant::now() + Duration::from_secs(30), Duration::from_secs(1))?;
    out.say(&format!("[reset] Removed etcd {what} {:?} ({peer_url}) from the etcd cluster", mine.name));
    Ok(())
}

fn not_real_root(d: &ResetData) -> Option<String> {
    (!d.host.is_real_root()).then(|| format!("--root is {:?}, not /", d.host.root().display()))
}

fn stop_kubelet(d: &ResetData, out: &Output) {
    if d.host.is_dry_run() {
        return out.say("[reset] Would stop the kubelet service");
    }
    if let Some(why) = not_real_root(d) {
        return out
            .say(&format!("[reset] Not stopping the kubelet service: {why} (the real host's kubelet is not touched)"));
    }
    if !crate::host::services::has_systemd() {
        out.warn("[reset] The kubelet service could not be stopped by kbinit: no supported init system detected");
        return out.warn("[reset] Please ensure kubelet is stopped manually");
    }
    out.say("[reset] Stopping the kubelet service");
    if let Err(e) = crate::host::services::systemctl(&["stop", "kubelet"]) {
        out.warn(&format!("[reset] The kubelet service could not be stopped by kbinit: {e:#}"));
        out.warn("[reset] Please ensure kubelet is stopped manually");
    }
}

/// `/proc/mounts` escapes blanks as octal (`\040`).
fn unescape_mount(p: &str) -> String {
    p.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// The ResetConfiguration's `unmountFlags` as umount2 flags; `None` when none were given.
fn unmount_flags(names: &[String]) -> Option<nix::mount::MntFlags> {
    use nix::mount::MntFlags;
    if names.is_empty() {
        return None;
    }
    Some(names.iter().fold(MntFlags::empty(), |acc, n| {
        acc | match n.as_str() {
            "MNT_FORCE" => MntFlags::MNT_FORCE,
            "MNT_DETACH" => MntFlags::MNT_DETACH,
            "MNT_EXPIRE" => MntFlags::MNT_EXPIRE,
            "UMOUNT_NOFOLLOW" => MntFlags::UMOUNT_NOFOLLOW,
            _ => MntFlags::empty(),
        }
    }))
}

fn unmount_kubelet_dirs(d: &ResetData, out: &Output) {
    let dir = paths::KUBELET_DIR;
    if d.host.is_dry_run() {
        return out.say(&format!("[reset] Would unmount mounted directories in {dir:?}"));
    }
    if let Some(why) = not_real_root(d) {
        return out
            .say(&format!("[reset] Not unmounting directories in {dir:?}: {why} (mounts belong to the real host)"));
    }
    out.say(&format!("[reset] Unmounting mounted directories in {dir:?}"));
    let base = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.into());
    let base = format!("{}/", base.display());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mut points: Vec<String> = mounts
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(unescape_mount)
        .filter(|m| m.starts_with(&base))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len())); // deepest first
    let flags = unmount_flags(&d.opts.unmount_flags);
    for p in points {
        let ok = match flags {
            None => Command::new("umount").arg(&p).stdin(Stdio::null()).output().is_ok_and(|o| o.status.success()),
            // kubeadm's syscall.Unmount(path, flags)
            Some(f) => nix::mount::umount2(p.as_str(), f).is_ok(),
        };
        if !ok {
            out.warn(&format!("[reset] Failed to unmount mounted directory {p:?}; unmount it by hand (umount {p})"));
        }
    }
}

/// The CRI socket: `--cri-socket`, else the one this node's kubelet was set up with
/// ([`crate::cri::node::kubelet_socket`]), else the first known socket present under the root (kubeadm's
/// detection), else containerd's.
fn cri_socket(d: &ResetData) -> String {
    if let Some(s) = &d.opts.cri_socket {
        return if s.contains("://") { s.clone() } else { format!("unix://{s}") };
    }
    if let Some(s) = crate::cri::node::kubelet_socket(&d.host) {
        return s;
    }
    let present: Vec<&str> =
        KNOWN_CRI_SOCKETS.iter().copied().filter(|s| is_socket(&d.host.path(socket_file(s)))).collect();
    present.first().map_or(KNOWN_CRI_SOCKETS[0], |s| s).to_string()
}

/// kubeadm's `removeContainers` (v1.31+): every pod sandbox the runtime has, stopped then removed through the
/// CRI ([`crate::cri::ops`], five attempts each); a failure is the warning kubeadm logs. The socket is a node
/// path: under another `--root` the runtime listening there (if any) is asked, never the real host's.
fn remove_containers(d: &ResetData, out: &Output) {
    if d.host.is_dry_run() {
        return out.say("[reset] Would remove Kubernetes-managed containers");
    }
    let socket = cri_socket(d);
    let path = d.host.path(socket_file(&socket));
    if let Some(why) = not_real_root(d)
        && !is_socket(&path)
    {
        return out.say(&format!(
            "[reset] Not removing containers: {why} and no container runtime listens at {socket} under it (the real \
             host's container runtime is not touched)"
        ));
    }
    out.say("[reset] Removing Kubernetes-managed containers");
    let removed = CriClient::connect(&socket, &path).map_err(|e| e.to_string()).and_then(|c| {
        let ids = ops::list_kube_sandboxes(&c)?;
        let errors = ops::remove_sandboxes(&c, &ids);
        if errors.is_empty() { Ok(()) } else { Err(ops::aggregate(&errors)) }
    });
    if let Err(e) = removed {
        out.warn(&format!("[reset] Failed to remove containers: {e}"));
    }
}

fn is_socket(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_socket())
}

/// cleanup-node.
pub fn cleanup_node(d: &ResetData, out: &Output) -> anyhow::Result<()> {
    stop_kubelet(d, out);
    // kbinit's node-local API server proxy, if this node has it (says nothing otherwise)
    if let Err(e) = crate::flows::api_server_proxy::setup::remove(&d.host, d.host.is_dry_run(), out) {
        out.warn(&format!("[reset] Failed to remove the API server proxy: {e:#}"));
    }
    unmount_kubelet_dirs(d, out);
    remove_containers(d, out);
    let cert_dir = d.opts.cert_dir.trim_end_matches('/').to_string();
    if cert_dir != DEFAULT_CERT_DIR {
        out.warn(&format!("[reset] WARNING: Cleaning a non-default certificate directory: {cert_dir:?}"));
    }
    let mut dirs = vec![paths::MANIFESTS_DIR.to_string(), paths::KUBELET_DIR.to_string(), cert_dir];
    if d.opts.cleanup_tmp_dir {
        dirs.push("/etc/kubernetes/tmp".into());
    }
    let files: Vec<&str> = KUBECONFIG_FILES.to_vec();
    if d.host.is_dry_run() {
        out.say(&format!("[reset] Would delete contents of directories: [{}]", dirs.join(" ")));
        out.say(&format!("[reset] Would delete files: [{}]", files.join(" ")));
        return Ok(());
    }
    out.say(&format!("[reset] Deleting contents of directories: [{}]", dirs.join(" ")));
    for dir in &dirs {
        if let Err(e) = clean_dir(&d.host.path(dir)) {
            out.warn(&format!("[reset] Failed to delete contents of {dir:?}: {e:#}"));
        }
    }
    out.say(&format!("[reset] Deleting files: [{}]", files.join(" ")));
    for f in files {
        match d.host.remove(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => out.warn(&format!("[reset] Failed to remove file: {f:?} [{e}]")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETCD_YAML: &str = "apiVersion: v1
kind: Pod
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.0.0.10:2379
    - --initial-advertise-peer-urls=https://10.0.0.10:2380
    name: etcd
  volumes:
  - hostPath:
      path: /etc/kubernetes/pki/etcd
      type: DirectoryOrCreate
    name: etcd-certs
  - hostPath:
      path: /var/lib/etcd
      type: DirectoryOrCreate
    name: etcd-data
";

    #[test]
    fn member_from_the_manifest() {
        assert_eq!(
            local_member(ETCD_YAML),
            Some(LocalMember {
                data_dir: "/var/lib/etcd".into(),
                peer_url: Some("https://10.0.0.10:2380".into()),
                client_url: Some("https://10.0.0.10:2379".into()),
            })
        );
        assert_eq!(local_member("not: [a pod"), None);
        assert_eq!(local_member("kind: Pod\nspec: {}\n"), None);
    }

    #[test]
    fn mount_points_unescape() {
        assert_eq!(unescape_mount("/var/lib/kubelet/pods/a\\040b"), "/var/lib/kubelet/pods/a b");
    }
}
