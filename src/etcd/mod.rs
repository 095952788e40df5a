//! A blocking etcd v3 membership client over mTLS with the node's etcd client certificate: member list, add (as
//! a learner or voting), promote, remove, per-endpoint status, and a snapshot stream (`snapshot.rs`). Used by
//! `join --control-plane` to add this node's member, by `reset` to remove it, and by `kbinit etcd …`.
//!
//! kubeadm connects with `<pki>/etcd/ca.crt` and `<pki>/etcd/healthcheck-client.{crt,key}` ([`EtcdTls::from_pki`]).
//! Every call has its own deadline ([`EtcdClient::call_timeout`]); the retrying helpers
//! ([`EtcdClient::promote_when_ready`], [`EtcdClient::wait_endpoints_healthy`]) poll until a deadline and return
//! the last error etcd gave. This module never prints; callers say what happens.

use std::time::{Duration, Instant};

use anyhow::Context;
use kbinit_phases::join::etcd::EtcdMember;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::grpc::{status_text, unary};
use crate::host::Host;

pub mod proto;
mod snapshot;

pub use snapshot::Streamed;

/// The client credentials for etcd: its CA bundle and a client certificate with its key (PEM).
#[derive(Clone)]
pub struct EtcdTls {
    /// The etcd CA (PEM).
    pub ca_pem: Vec<u8>,
    /// The client certificate (PEM).
    pub cert_pem: Vec<u8>,
    /// Its private key (PEM).
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for EtcdTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdTls").finish_non_exhaustive()
    }
}

impl EtcdTls {
    /// kubeadm's etcd client identity on a control-plane node: `<pki>/etcd/ca.crt` and
    /// `<pki>/etcd/healthcheck-client.{crt,key}`, read through the host (so a dry-run overlay is seen).
    pub fn from_pki(host: &Host, certificates_dir: &str) -> anyhow::Result<EtcdTls> {
        let read = |f: &str| -> anyhow::Result<Vec<u8>> {
            let p = format!("{}/{f}", certificates_dir.trim_end_matches('/'));
            host.read(&p).with_context(|| format!("reading {p} (the etcd client identity)"))
        };
        Ok(EtcdTls {
            ca_pem: read("etcd/ca.crt")?,
            cert_pem: read("etcd/healthcheck-client.crt")?,
            key_pem: read("etcd/healthcheck-client.key")?,
        })
    }
}

/// What etcd's Status call says about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The endpoint asked.
    pub endpoint: String,
    /// The member ID that answered.
    pub member_id: u64,
    /// etcd's version.
    pub version: String,
    /// The leader's member ID (0 = no leader known).
    pub leader: u64,
    /// `true` while that member is a learner.
    pub is_learner: bool,
    /// Errors the member reports (alarms and the like).
    pub errors: Vec<String>,
    /// The cluster ID (from the answer's header).
    pub cluster_id: u64,
    /// The store revision when it answered.
    pub revision: i64,
}

/// A connection to an etcd cluster: one lazily connected channel per endpoint, with a blocking API. A call goes to
/// the endpoints in order and moves on only when one cannot be reached (`Unavailable`), so an answer from etcd
/// itself (a refusal) is never hidden by asking another member.
pub struct EtcdClient {
    rt: tokio::runtime::Runtime,
    channels: Vec<(String, Channel)>,
    tls: EtcdTls,
    /// The endpoints it was built with.
    pub endpoints: Vec<String>,
    /// How long one call may take.
    pub call_timeout: Duration,
}

impl std::fmt::Debug for EtcdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdClient").field("endpoints", &self.endpoints).finish_non_exhaustive()
    }
}

/// A channel to one endpoint over mTLS with the given credentials; nothing is dialled until the first call. Must
/// be made inside the runtime (the channel's buffer task is spawned on it).
fn channel(endpoint: &str, tls: &EtcdTls, call_timeout: Duration) -> anyhow::Result<Channel> {
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&tls.ca_pem))
        .identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem));
    let ep = Endpoint::from_shared(endpoint.to_string())
        .with_context(|| format!("{endpoint} is not an etcd client URL"))?
        .tls_config(config)
        .map_err(|e| anyhow::anyhow!("cannot use the etcd client credentials for {endpoint}: {e}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(call_timeout);
    Ok(ep.connect_lazy())
}

/// One member as kbinit's planners see it.
fn member(m: &proto::Member) -> EtcdMember {
    EtcdMember { id: m.id, name: m.name.clone(), peer_urls: m.peer_urls.clone(), is_learner: m.is_learner }
}

impl EtcdClient {
    /// A client for `endpoints` (`https://host:2379`), narrowed to the endpoints that answer as voting members:
    /// a learner refuses member calls (`rpc not supported for learner`, e.g. while another control-plane node is
    /// joining) and a stale endpoint (a reset node's mirror Pod) never answers. When none answers, all are kept
    /// and the first call reports why.
    pub fn connect(endpoints: &[String], tls: &EtcdTls, call_timeout: Duration) -> anyhow::Result<EtcdClient> {
        if endpoints.is_empty() {
            anyhow::bail!("no etcd endpoints to connect to");
        }
        let all = EtcdClient::connect_exactly(endpoints, tls, call_timeout)?;
        let voting: Vec<String> =
            endpoints.iter().filter(|ep| all.status(ep).is_ok_and(|s| !s.is_learner)).cloned().collect();
        if voting.is_empty() || voting.len() == endpoints.len() {
            return Ok(all);
        }
        EtcdClient::connect_exactly(&voting, tls, call_timeout)
    }

    fn connect_exactly(endpoints: &[String], tls: &EtcdTls, call_timeout: Duration) -> anyhow::Result<EtcdClient> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the I/O runtime for etcd")?;
        let channels = {
            let _in_runtime = rt.enter();
            endpoints
                .iter()
                .map(|ep| Ok((ep.clone(), channel(ep, tls, call_timeout)?)))
                .collect::<anyhow::Result<Vec<_>>>()
                .with_context(|| format!("cannot set up an etcd client for {endpoints:?}"))?
        };
        Ok(EtcdClient { rt, channels, tls: tls.clone(), endpoints: endpoints.to_vec(), call_timeout })
    }

    /// One call, to the first endpoint that can be reached; etcd's own refusal comes back as it is. When none can
    /// be reached, the error names each endpoint with its reason.
    fn call<Req, Resp>(&self, path: &'static str, request: Req) -> Result<Resp, tonic::Status>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut unreachable = Vec::new();
        for (ep, ch) in &self.channels {
            match self.rt.block_on(unary(ch.clone(), path, request.clone(), None)) {
                Err(s) if s.code() == tonic::Code::Unavailable && self.channels.len() > 1 => {
                    unreachable.push(format!("{ep}: {}", status_text(&s)));
                }
                other => return other,
            }
        }
        Err(tonic::Status::unavailable(unreachable.join("; ")))
    }

    /// Every member, in etcd's order.
    pub fn member_list(&mut self) -> anyhow::Result<Vec<EtcdMember>> {
        Ok(self.list()?.iter().map(member).collect())
    }

    fn list(&self) -> anyhow::Result<Vec<proto::Member>> {
        let r: proto::MemberListResponse = self
            .call(proto::MEMBER_LIST, proto::MemberListRequest::default())
            .map_err(|e| anyhow::anyhow!("etcd member list at {:?}: {}", self.endpoints, status_text(&e)))?;
        Ok(r.members)
    }

    /// The client URLs etcd's own member list gives (members that have started), as kubeadm's etcd client
    /// `Sync()` does: endpoints taken from mirror Pods can be stale (a reset node's Pod stays in the API until
    /// its Node goes), etcd's list is not.
    pub fn member_client_urls(&mut self) -> anyhow::Result<Vec<String>> {
        Ok(self.list()?.into_iter().flat_map(|m| m.client_urls).collect())
    }

    /// Adds a member with `peer_url` (as a learner when asked). Returns the new member and the member list etcd
    /// returned with it. When a member with that peer URL exists already (a re-run after a failure), that member
    /// is returned with the current list instead, as kubeadm does.
    pub fn member_add(&mut self, peer_url: &str, learner: bool) -> anyhow::Result<(EtcdMember, Vec<EtcdMember>)> {
        let request = proto::MemberAddRequest { peer_urls: vec![peer_url.to_string()], is_learner: learner };
        match self.call::<_, proto::MemberAddResponse>(proto::MEMBER_ADD, request) {
            Ok(r) => {
                let added = r
                    .member
                    .as_ref()
                    .map(member)
                    .ok_or_else(|| anyhow::anyhow!("etcd accepted the member {peer_url} but did not return it"))?;
                Ok((added, r.members.iter().map(member).collect()))
            }
            // "Peer URLs already exists", or "member ID already exist" (the ID derives from the peer URLs)
            Err(e) if status_text(&e).contains("already exist") => {
                let members = self.member_list()?;
                let existing = members
                    .iter()
                    .find(|m| m.peer_urls.iter().any(|u| u == peer_url))
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("etcd says {peer_url} exists but no member lists it"))?;
                Ok((existing, members))
            }
            Err(e) => Err(anyhow::anyhow!("etcd member add {peer_url}: {}", status_text(&e))),
        }
    }

    /// Promotes a learner to a voting member (once). etcd refuses while the learner has not caught up with the
    /// leader; see [`EtcdClient::promote_when_ready`].
    pub fn member_promote(&mut self, id: u64) -> anyhow::Result<()> {
        self.call::<_, proto::MemberChangeResponse>(proto::MEMBER_PROMOTE, proto::MemberIdRequest { id })
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("etcd member promote {id:x}: {}", status_text(&e)))
    }

    /// Removes a member. `Ok(false)` when it was not a member (any more).
    pub fn member_remove(&mut self, id: u64) -> anyhow::Result<bool> {
        match self.call::<_, proto::MemberChangeResponse>(proto::MEMBER_REMOVE, proto::MemberIdRequest { id }) {
            Ok(_) => Ok(true),
            Err(e) if status_text(&e).contains("member not found") => Ok(false),
            Err(e) => Err(anyhow::anyhow!("etcd member remove {id:x}: {}", status_text(&e))),
        }
    }

    /// Removes a member, retrying every `interval` while etcd refuses for a passing reason ("unhealthy cluster":
    /// a member started or was promoted less than etcd's health interval ago) until `deadline`. `Ok(false)` when it
    /// was not a member.
    pub fn remove_when_allowed(&mut self, id: u64, deadline: Instant, interval: Duration) -> anyhow::Result<bool> {
        loop {
            match self.member_remove(id) {
                Err(e) if format!("{e:#}").contains("unhealthy cluster") && Instant::now() + interval <= deadline => {
                    std::thread::sleep(interval);
                }
                other => return other,
            }
        }
    }

    /// [`EtcdClient::member_add`], retried while etcd refuses for a reason that passes: another learner is still
    /// joining (`too many learner members`, etcd allows one at a time — several control-plane nodes joining at
    /// once), a member started or was promoted a moment ago (`unhealthy cluster`), a leader election, or a call
    /// that timed out on a busy etcd.
    /// `waiting` is told each refusal once.
    pub fn add_when_allowed(
        &mut self,
        peer_url: &str,
        learner: bool,
        deadline: Instant,
        interval: Duration,
        waiting: &dyn Fn(&str),
    ) -> anyhow::Result<(EtcdMember, Vec<EtcdMember>)> {
        let mut told = String::new();
        loop {
            match self.member_add(peer_url, learner) {
                Err(e) if Instant::now() + interval <= deadline => {
                    let text = format!("{e:#}");
                    // a call that timed out may have been applied: the retry then finds the member (member_add
                    // returns the existing one), so it is safe to ask again
                    let passing = [
                        "too many learner members",
                        "unhealthy cluster",
                        "leader changed",
                        "no leader",
                        "Timeout expired",
                        "deadline has elapsed",
                        "request timed out",
                    ]
                    .iter()
                    .find(|w| text.contains(*w));
                    let Some(why) = passing else { return Err(e) };
                    if told != *why {
                        waiting(why);
                        told = why.to_string();
                    }
                    std::thread::sleep(interval);
                }
                other => return other,
            }
        }
    }

    /// The member with this peer URL, if any.
    pub fn member_by_peer_url(&mut self, peer_url: &str) -> anyhow::Result<Option<EtcdMember>> {
        Ok(self.member_list()?.into_iter().find(|m| m.peer_urls.iter().any(|u| u == peer_url)))
    }

    /// Status of one endpoint, asked of that endpoint alone.
    pub fn status(&self, endpoint: &str) -> anyhow::Result<EndpointStatus> {
        let ch = match self.channels.iter().find(|(ep, _)| ep == endpoint) {
            Some((_, ch)) => ch.clone(),
            None => {
                let _in_runtime = self.rt.enter();
                channel(endpoint, &self.tls, self.call_timeout)?
            }
        };
        let s: proto::StatusResponse = self
            .rt
            .block_on(unary(ch, proto::STATUS, proto::StatusRequest {}, None))
            .map_err(|e| anyhow::anyhow!("etcd at {endpoint}: {}", status_text(&e)))?;
        let header = s.header.unwrap_or_default();
        Ok(EndpointStatus {
            endpoint: endpoint.to_string(),
            member_id: header.member_id,
            cluster_id: header.cluster_id,
            revision: header.revision,
            version: s.version,
            leader: s.leader,
            is_learner: s.is_learner,
            errors: s.errors,
        })
    }

    /// Promotes the learner `id`, retrying every `interval` while etcd refuses (not in sync yet) until `deadline`.
    /// A member that is already voting counts as promoted.
    pub fn promote_when_ready(&mut self, id: u64, deadline: Instant, interval: Duration) -> anyhow::Result<()> {
        loop {
            let err = match self.member_promote(id) {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if let Ok(members) = self.member_list() {
                match members.iter().find(|m| m.id == id) {
                    Some(m) if !m.is_learner => return Ok(()),
                    None => anyhow::bail!("etcd member {id:x} is gone; it can not be promoted"),
                    _ => {}
                }
            }
            if Instant::now() + interval > deadline {
                return Err(err.context(format!("the learner {id:x} was not promoted in time")));
            }
            std::thread::sleep(interval);
        }
    }

    /// Waits until every endpoint answers Status without errors and knows a leader; the error names each endpoint
    /// that did not, with its last answer.
    pub fn wait_endpoints_healthy(
        &self,
        endpoints: &[String],
        deadline: Instant,
        interval: Duration,
    ) -> anyhow::Result<Vec<EndpointStatus>> {
        loop {
            let mut good = Vec::new();
            let mut bad = Vec::new();
            for ep in endpoints {
                match self.status(ep) {
                    Ok(s) if s.errors.is_empty() && s.leader != 0 => good.push(s),
                    Ok(s) if s.leader == 0 => bad.push(format!("{ep}: no leader")),
                    Ok(s) => bad.push(format!("{ep}: {}", s.errors.join("; "))),
                    Err(e) => bad.push(format!("{e:#}")),
                }
            }
            if bad.is_empty() {
                return Ok(good);
            }
            if Instant::now() + interval > deadline {
                anyhow::bail!("etcd is not healthy: {}", bad.join("; "));
            }
            std::thread::sleep(interval);
        }
    }
}

/// `https://<ip>:2379` with IPv6 bracketed: the client URL of a stacked member.
pub fn client_url(ip: &std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => format!("https://[{v6}]:2379"),
        std::net::IpAddr::V4(v4) => format!("https://{v4}:2379"),
    }
}
