//! `kbinit etcd rejoin --endpoint URL` on another control-plane node after `etcd restore` ran on one: this
//! node's member is taken out of the restored cluster if it is listed there (stale), its etcd is stopped (the
//! manifest parked, as restore does), its data dir moved aside (never deleted), and it joins the restored
//! cluster as join --control-plane joins etcd: added as a learner, its manifest rewritten with the restored
//! cluster's `--initial-cluster` and `--initial-cluster-state=existing`, promoted once in sync, and every member
//! seen healthy. A worker needs nothing.

use std::time::{Duration, Instant};

use kbinit_phases::etcd_snapshot::rejoin::{initial_cluster, rejoin_manifest};
use kbinit_phases::etcd_snapshot::restore::{ETCD_MANIFEST, Member};
use kbinit_phases::etcd_snapshot::stamp;

use crate::error::invalid;
use crate::etcd::{EtcdClient, EtcdTls};
use crate::flows::certs::restart::{self as static_pod_restart, PARK_DIR};
use crate::host::Host;
use crate::output::Output;

/// How long the new member may take to be promoted and healthy.
const JOIN_TIMEOUT: Duration = Duration::from_secs(120);

/// What `etcd rejoin` was asked.
#[derive(Debug, Clone, Default)]
pub struct RejoinOptions {
    /// `--endpoint`: a client URL of the restored cluster.
    pub endpoint: String,
    /// `--dry-run`.
    pub dry_run: bool,
}

/// `etcd rejoin`.
pub fn rejoin(host: &Host, o: &RejoinOptions, out: &Output) -> anyhow::Result<()> {
    if !o.endpoint.starts_with("https://") {
        return Err(invalid(format!("--endpoint {:?}: an https:// client URL of the restored etcd", o.endpoint)));
    }
    let parked = format!("{PARK_DIR}/etcd.yaml");
    let yaml = host.read(ETCD_MANIFEST).or_else(|_| host.read(&parked)).map_err(|_| {
        invalid(format!("{ETCD_MANIFEST} does not exist: etcd rejoin runs on a control-plane node with stacked etcd"))
    })?;
    let yaml = String::from_utf8_lossy(&yaml).into_owned();
    let member = Member::from_manifest(&yaml)?;
    let tls = EtcdTls::from_pki(host, &super::cert_dir_of(&yaml))?;
    let mut etcd = EtcdClient::connect(std::slice::from_ref(&o.endpoint), &tls, Duration::from_secs(10))?;
    let members = etcd
        .member_list()
        .map_err(|e| anyhow::anyhow!("{e:#}: the restored etcd at {} must answer for a rejoin", o.endpoint))?;
    let own = members.iter().find(|m| m.peer_urls.contains(&member.peer_url)).cloned();
    if let Some(m) = &own
        && !m.is_learner
        && !m.name.is_empty()
        && etcd.status(&member.client_url).is_ok_and(|s| s.leader != 0 && s.member_id == m.id)
    {
        out.say(&format!(
            "[etcd-rejoin] {} is a healthy voting member of the cluster at {}: nothing to do",
            member.name, o.endpoint
        ));
        return Ok(());
    }
    let stamp = stamp(time::OffsetDateTime::now_utc());
    let aside = format!("{}.before-rejoin-{stamp}", member.data_dir);
    if o.dry_run {
        if let Some(m) = &own {
            out.say(&format!("[dryrun] Would remove the stale member {:x} ({})", m.id, member.peer_url));
        }
        out.say(&format!(
            "[dryrun] Would stop etcd (manifest moved to {PARK_DIR}) and move {} to {aside} (kept)",
            member.data_dir
        ));
        out.say(&format!(
            "[dryrun] Would add {} as a learner of the cluster at {}, rewrite {ETCD_MANIFEST}, promote it",
            member.peer_url, o.endpoint
        ));
        return Ok(());
    }
    if let Some(m) = &own {
        etcd.remove_when_allowed(m.id, Instant::now() + Duration::from_secs(30), Duration::from_secs(1))?;
        out.say(&format!(
            "[etcd-rejoin] Removed the stale member {:x} ({}) from the restored cluster",
            m.id, member.peer_url
        ));
    }
    let stopped = static_pod_restart::stop(host, "etcd", out)?;
    if host.path(&member.data_dir).exists() {
        host.rename(&member.data_dir, &aside)?;
        out.say(&format!("[etcd-rejoin] Moved the stale data dir {} to {aside} (kept)", member.data_dir));
    }
    host.ensure_dir(&member.data_dir, 0o700)?;
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let (added, members) = etcd.add_when_allowed(&member.peer_url, true, deadline, Duration::from_secs(1), &|why| {
        out.say(&format!("[etcd-rejoin] etcd does not take a new member yet ({why}); retrying until it does"))
    })?;
    out.say(&format!("[etcd-rejoin] Added {} as learner {:x}", member.peer_url, added.id));
    let manifest = rejoin_manifest(&yaml, &initial_cluster(&members, &member.name, &member.peer_url))?;
    if stopped.is_some() && host.path(&parked).exists() {
        host.rename(&parked, &format!("/etc/kubernetes/tmp/etcd.yaml.before-rejoin-{stamp}"))?;
    }
    host.write(ETCD_MANIFEST, manifest.as_bytes(), 0o600)?;
    out.say(&format!("[etcd-rejoin] Wrote {ETCD_MANIFEST} joining the restored cluster; the kubelet starts etcd"));
    etcd.promote_when_ready(added.id, deadline, Duration::from_millis(500))?;
    out.say(&format!("[etcd-rejoin] Promoted the learner {:x} to a voting member", added.id));
    let all = etcd.member_client_urls().unwrap_or_else(|_| vec![o.endpoint.clone()]);
    etcd.wait_endpoints_healthy(&all, deadline, Duration::from_secs(1))?;
    out.say(&format!("[etcd-rejoin] {} is a voting member again; every member is healthy", member.name));
    Ok(())
}
