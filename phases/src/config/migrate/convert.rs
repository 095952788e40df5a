//! The typed rewrite of [`super::migrate`]: wire documents of one API version in, the same documents in the
//! target version out, with a warning line for each field that changed shape, moved, or means something new.
//!
//! Fields that exist only in the other version are dropped exactly where the loader drops them (it warns about
//! them as unknown fields), so the rewrite never gives a value an effect it did not have before.

use super::super::load::api_version_string;
use super::super::model::ApiVersion;
use super::super::wire::*;
use crate::go_format::duration::{format_duration, parse_duration};

/// kubeadm's feature gate that v1beta4's `encryptionAlgorithm` replaces.
const PUBLIC_KEYS_ECDSA: &str = "PublicKeysECDSA";

/// One migration's direction and its warnings.
pub(super) struct Converter<'a> {
    /// The version read.
    pub from: ApiVersion,
    /// The version written.
    pub to: ApiVersion,
    /// Where the warning lines go.
    pub warnings: &'a mut Vec<String>,
}

/// A Go duration as kubeadm prints it (`4m0s`), or the text as given when it does not parse (the loader has
/// refused such a value before this runs).
fn normalized(d: &str) -> String {
    parse_duration(d).map(format_duration).unwrap_or_else(|_| d.to_string())
}

impl Converter<'_> {
    fn upgrading(&self) -> bool {
        self.from == ApiVersion::V1beta3 && self.to == ApiVersion::V1beta4
    }

    fn v3(&self) -> &'static str {
        api_version_string(ApiVersion::V1beta3)
    }

    fn v4(&self) -> &'static str {
        api_version_string(ApiVersion::V1beta4)
    }

    /// A v1beta3 map of flags becomes v1beta4's list, in name order (kubeadm's `convertToArgs`).
    fn args(&mut self, slot: &mut Option<ExtraArgs>, path: &str) {
        if !self.upgrading() {
            return;
        }
        match slot.take() {
            Some(ExtraArgs::Map(m)) => {
                self.warnings.push(format!(
                    "{path}: the map of flags of {} is a list of {{name, value}} in {} (written in name order; \
                     v1beta4 allows a name more than once)",
                    self.v3(),
                    self.v4()
                ));
                *slot = Some(ExtraArgs::List(m.into_iter().map(|(name, value)| WireArg { name, value }).collect()));
            }
            other => *slot = other,
        }
    }

    /// `nodeRegistration` of an Init or Join document, and the note on v1beta4's new `imagePullSerial`.
    fn node_registration(&mut self, nr: Option<&mut WireNodeRegistration>, kind: &str) {
        if let Some(nr) = nr {
            if self.from == ApiVersion::V1beta3 || self.to == ApiVersion::V1beta3 {
                nr.image_pull_serial = None;
            }
            self.args(&mut nr.kubelet_extra_args, &format!("{kind}.nodeRegistration.kubeletExtraArgs"));
        }
        if self.upgrading() {
            self.warnings.push(format!(
                "{kind}.nodeRegistration.imagePullSerial: new in {}; not written, so it keeps its default true \
                 (images are pulled one at a time, as with {})",
                self.v4(),
                self.v3()
            ));
        }
    }

    /// Drops the fields the source version does not have (the loader ignores them) or the target cannot hold.
    fn drop_foreign_cluster(&self, c: &mut WireCluster) {
        if self.from == ApiVersion::V1beta3 || self.to == ApiVersion::V1beta3 {
            c.encryption_algorithm = None;
            c.certificate_validity_period = None;
            c.ca_certificate_validity_period = None;
            c.proxy = None;
            if let Some(d) = c.dns.as_mut() {
                d.disabled = None;
            }
            for comp in [c.controller_manager.as_mut(), c.scheduler.as_mut()].into_iter().flatten() {
                comp.extra_envs = None;
            }
            if let Some(a) = c.api_server.as_mut() {
                a.extra_envs = None;
            }
            if let Some(l) = c.etcd.as_mut().and_then(|e| e.local.as_mut()) {
                l.extra_envs = None;
            }
        }
        if self.from == ApiVersion::V1beta4
            && let Some(a) = c.api_server.as_mut()
        {
            a.timeout_for_control_plane = None;
        }
    }

    /// InitConfiguration and ClusterConfiguration together: `timeoutForControlPlane` crosses from one to the other.
    pub fn init_and_cluster(
        &mut self,
        init: Option<WireInit>,
        cluster: Option<WireCluster>,
    ) -> (Option<WireInit>, Option<WireCluster>) {
        let mut init = init;
        if let Some(i) = init.as_mut() {
            if self.from == ApiVersion::V1beta3 || self.to == ApiVersion::V1beta3 {
                i.timeouts = None;
                i.dry_run = None;
            }
            self.node_registration(i.node_registration.as_mut(), "InitConfiguration");
        }
        let cluster = cluster.map(|mut c| {
            self.drop_foreign_cluster(&mut c);
            if let Some(a) = c.api_server.as_mut() {
                self.args(&mut a.extra_args, "ClusterConfiguration.apiServer.extraArgs");
                if self.upgrading()
                    && let Some(t) = a.timeout_for_control_plane.take()
                {
                    let t = normalized(&t);
                    self.warnings.push(format!(
                        "ClusterConfiguration.apiServer.timeoutForControlPlane: removed in {}; its value {t} moved to \
                         InitConfiguration.timeouts.controlPlaneComponentHealthCheck",
                        self.v4()
                    ));
                    let timeouts =
                        init.get_or_insert_with(WireInit::default).timeouts.get_or_insert_with(Default::default);
                    timeouts.control_plane_component_health_check = Some(t);
                }
            }
            if let Some(cm) = c.controller_manager.as_mut() {
                self.args(&mut cm.extra_args, "ClusterConfiguration.controllerManager.extraArgs");
            }
            if let Some(s) = c.scheduler.as_mut() {
                self.args(&mut s.extra_args, "ClusterConfiguration.scheduler.extraArgs");
            }
            if let Some(l) = c.etcd.as_mut().and_then(|e| e.local.as_mut()) {
                self.args(&mut l.extra_args, "ClusterConfiguration.etcd.local.extraArgs");
            }
            let ecdsa = c.feature_gates.as_ref().and_then(|g| g.get(PUBLIC_KEYS_ECDSA)).copied();
            if self.upgrading() && ecdsa == Some(true) {
                self.warnings.push(format!(
                    "ClusterConfiguration.featureGates.{PUBLIC_KEYS_ECDSA}: deprecated in {} in favour of \
                     encryptionAlgorithm; written as encryptionAlgorithm: ECDSA-P256 (the gate is kept)",
                    self.v4()
                ));
                c.encryption_algorithm = Some("ECDSA-P256".into());
            }
            c
        });
        (init, cluster)
    }

    /// JoinConfiguration: `discovery.timeout` moves to `timeouts.discovery`.
    pub fn join(&mut self, mut j: WireJoin) -> WireJoin {
        if self.from == ApiVersion::V1beta3 || self.to == ApiVersion::V1beta3 {
            j.timeouts = None;
            j.dry_run = None;
        }
        self.node_registration(j.node_registration.as_mut(), "JoinConfiguration");
        if let Some(d) = j.discovery.as_mut() {
            if self.from == ApiVersion::V1beta4 {
                d.timeout = None;
            } else if self.upgrading()
                && let Some(t) = d.timeout.take()
            {
                let t = normalized(&t);
                self.warnings.push(format!(
                    "JoinConfiguration.discovery.timeout: removed in {}; its value {t} moved to \
                     JoinConfiguration.timeouts.discovery",
                    self.v4()
                ));
                j.timeouts.get_or_insert_with(Default::default).discovery = Some(t);
            }
        }
        j
    }
}
