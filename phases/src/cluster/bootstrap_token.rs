//! Phase `bootstrap-token` (§F rows 13–21, §H.1): the configured token Secrets, the RBAC that lets bootstrap
//! tokens fetch nodes, post CSRs and have them approved, the `kube-public/cluster-info` ConfigMap with its
//! anonymous read grant — in kubeadm's order with its lines. Also the 1.29+ `kubeadm:cluster-admins` binding.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use time::OffsetDateTime;

use crate::Error;
use crate::api::{ApiStep, WritePolicy};
use crate::cluster::rbac::{
    BOOTSTRAPPERS_GROUP, KUBE_PUBLIC, KUBE_SYSTEM, NODES_GROUP, cluster_role, cluster_role_binding, config_map,
    core_rule, get_one_role, group, meta, role_binding, user,
};
use crate::cluster::token::{Token, token_secret};
use crate::config::BootstrapToken;
use crate::go_format::yaml::to_yaml;
use crate::kubeconfig::{UserAuth, kubeconfig_value};
use crate::version::KubeVersion;

/// Name of the public discovery ConfigMap.
pub const CLUSTER_INFO: &str = "cluster-info";
/// Its data key.
pub const CLUSTER_INFO_KEY: &str = "kubeconfig";
const CLUSTER_INFO_ROLE: &str = "kubeadm:bootstrap-signer-clusterinfo";
const GET_NODES: &str = "kubeadm:get-nodes";

/// A configured bootstrap token together with its concrete value (generated when the config had none).
/// `Debug` shows the token id only.
#[derive(Clone, PartialEq, Eq)]
pub struct ResolvedToken {
    /// What the configuration says about it.
    pub config: BootstrapToken,
    /// The token.
    pub token: Token,
}

impl std::fmt::Debug for ResolvedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the configuration carries the full token text too, so neither part is shown whole
        f.debug_struct("ResolvedToken")
            .field("token", &self.token)
            .field("description", &self.config.description)
            .field("ttl", &self.config.ttl)
            .field("expires", &self.config.expires)
            .field("usages", &self.config.usages)
            .field("groups", &self.config.groups)
            .finish()
    }
}

impl ResolvedToken {
    /// Resolves every configured token, generating the missing ones.
    pub fn resolve_all(configured: &[BootstrapToken]) -> Result<Vec<ResolvedToken>, Error> {
        configured
            .iter()
            .map(|c| Ok(ResolvedToken { config: c.clone(), token: crate::cluster::token::resolve_token(c)? }))
            .collect()
    }
}

/// The `kube-public/cluster-info` ConfigMap: a kubeconfig with one cluster named `""` (server and embedded CA),
/// no users or contexts, serialized as kubeadm serializes it (§H.1).
pub fn cluster_info_configmap(server: &str, ca_pem: &[u8]) -> ConfigMap {
    let kubeconfig = to_yaml(&kubeconfig_value("", server, ca_pem, "", UserAuth::None));
    config_map(meta(Some(KUBE_PUBLIC), CLUSTER_INFO), BTreeMap::from([(CLUSTER_INFO_KEY.to_string(), kubeconfig)]))
}

/// The `bootstrap-token` phase. `print_tokens` is false with `--skip-token-print`; `server` is admin.conf's server
/// (the control-plane endpoint) and `ca_pem` the cluster CA certificate, which go into cluster-info.
pub fn plan_bootstrap_token(
    version: &KubeVersion,
    tokens: &[ResolvedToken],
    print_tokens: bool,
    server: &str,
    ca_pem: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<ApiStep>, Error> {
    let mut steps = Vec::new();
    if print_tokens {
        match tokens {
            [] => {}
            [one] => steps.push(ApiStep::say(format!("[bootstrap-token] Using token: {}", one.token))),
            many => {
                let list: Vec<String> = many.iter().map(|t| t.token.to_string()).collect();
                steps.push(ApiStep::say(format!("[bootstrap-token] Using tokens: [{}]", list.join(" "))));
            }
        }
    }
    steps.push(ApiStep::say("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles"));
    for t in tokens {
        steps.push(ApiStep::write(&token_secret(&t.config, &t.token, now)?, WritePolicy::ReadThenWrite)?);
    }

    steps.push(ApiStep::say("[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens to get nodes"));
    // kubeadm 1.28 set a namespace on these cluster-scoped objects (the server ignores it); 1.29+ sets none
    let ns = (!version.cluster_scoped_get_nodes_without_namespace()).then_some(KUBE_SYSTEM);
    let get_nodes = cluster_role(meta(ns, GET_NODES), vec![core_rule(&["nodes"], &[], &["get"])]);
    steps.push(ApiStep::create_or_update(&get_nodes)?);
    steps.push(ApiStep::create_or_update(&cluster_role_binding(
        meta(ns, GET_NODES),
        GET_NODES,
        vec![group(BOOTSTRAPPERS_GROUP)],
    ))?);

    let grants = [
        (
            "Configured RBAC rules to allow Node Bootstrap tokens to post CSRs in order for nodes to get long term \
             certificate credentials",
            "kubeadm:kubelet-bootstrap",
            "system:node-bootstrapper",
            BOOTSTRAPPERS_GROUP,
        ),
        (
            "Configured RBAC rules to allow the csrapprover controller automatically approve CSRs from a Node \
             Bootstrap Token",
            "kubeadm:node-autoapprove-bootstrap",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            BOOTSTRAPPERS_GROUP,
        ),
        (
            "Configured RBAC rules to allow certificate rotation for all node client certificates in the cluster",
            "kubeadm:node-autoapprove-certificate-rotation",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            NODES_GROUP,
        ),
    ];
    for (line, name, role, subject) in grants {
        steps.push(ApiStep::say(format!("[bootstrap-token] {line}")));
        steps.push(ApiStep::create_or_update(&cluster_role_binding(meta(None, name), role, vec![group(subject)]))?);
    }

    steps.push(ApiStep::say(format!(
        "[bootstrap-token] Creating the \"{CLUSTER_INFO}\" ConfigMap in the \"{KUBE_PUBLIC}\" namespace"
    )));
    steps.push(ApiStep::create_or_update(&cluster_info_configmap(server, ca_pem))?);
    steps.push(ApiStep::create_or_update(&get_one_role(KUBE_PUBLIC, CLUSTER_INFO_ROLE, "configmaps", CLUSTER_INFO))?);
    steps.push(ApiStep::create_or_update(&role_binding(
        KUBE_PUBLIC,
        CLUSTER_INFO_ROLE,
        CLUSTER_INFO_ROLE,
        vec![user("system:anonymous")],
    ))?);
    Ok(steps)
}

/// The token Secret `token create` writes: refused when a token with that id already exists.
pub fn token_create_step(token: &ResolvedToken, now: OffsetDateTime) -> Result<ApiStep, Error> {
    ApiStep::write(&token_secret(&token.config, &token.token, now)?, WritePolicy::CreateNew)
}

/// Name of the group admin.conf's user belongs to from 1.29, and of its ClusterRoleBinding.
pub const CLUSTER_ADMINS: &str = "kubeadm:cluster-admins";

/// The ClusterRoleBinding `kubeadm:cluster-admins` → ClusterRole `cluster-admin` for group
/// `kubeadm:cluster-admins` (§F row 0), which gives 1.29+ admin.conf its rights. Kept when it already exists.
pub fn cluster_admins_binding() -> Result<ApiStep, Error> {
    let crb = cluster_role_binding(meta(None, CLUSTER_ADMINS), "cluster-admin", vec![group(CLUSTER_ADMINS)]);
    ApiStep::write(&crb, WritePolicy::CreateOrKeep)
}

/// [`cluster_admins_binding`] for releases that have it (1.29+), nothing before.
pub fn plan_cluster_admins(version: &KubeVersion) -> Result<Vec<ApiStep>, Error> {
    if version.has_super_admin() { Ok(vec![cluster_admins_binding()?]) } else { Ok(Vec::new()) }
}

/// Name of the ClusterRole the 1.37+ API server kubelet client is bound to (Kubernetes' bootstrap RBAC has it),
/// which is also the group in `apiserver-kubelet-client.crt` from 1.37.
pub const KUBELET_API_ADMIN: &str = "system:kubelet-api-admin";
/// Name of kbinit's ClusterRoleBinding for it. **Unconfirmed (Q4)**: the name comes from a third-party reading
/// of 1.37's `phases/bootstraptoken/node/tlsbootstrap.go`; the subject (group `system:kubelet-api-admin`, the
/// certificate's O) is inferred from the certificate change (PR 138957 + kubeadm PR 3306), as the 1.29
/// `kubeadm:cluster-admins` group and binding go together. The released 1.37 source was not in the index.
pub const KUBELET_API_ADMIN_BINDING: &str = "kubeadm:kubelet-api-admin";

/// 1.37+ (`AllowAPIServerToAccessKubeletAPI`, run in the bootstrap-token phase of init and of upgrade apply):
/// the binding that gives the API server's kubelet client the kubelet API. Nothing before 1.37.
pub fn plan_kubelet_api_admin(version: &KubeVersion) -> Result<Vec<ApiStep>, Error> {
    if !version.kubelet_api_admin_client() {
        return Ok(Vec::new());
    }
    let crb =
        cluster_role_binding(meta(None, KUBELET_API_ADMIN_BINDING), KUBELET_API_ADMIN, vec![group(KUBELET_API_ADMIN)]);
    Ok(vec![ApiStep::create_or_update(&crb)?])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resolved_tokens_keep_given_ones_generate_missing_ones_and_hide_secrets() {
        let given = BootstrapToken {
            token: Some("abcdef.0123456789abcdef".into()),
            description: String::new(),
            ttl: None,
            expires: None,
            usages: vec!["signing".into()],
            groups: vec![],
        };
        let missing = BootstrapToken { token: None, ..given.clone() };
        let all = ResolvedToken::resolve_all(&[given.clone(), missing]).unwrap();
        assert_eq!(all[0].token.to_string(), "abcdef.0123456789abcdef");
        assert_ne!(all[1].token, all[0].token);
        let dbg = format!("{:?}", all[0]);
        assert!(dbg.contains("abcdef") && !dbg.contains("0123456789abcdef"), "{dbg}");
        let bad = BootstrapToken { token: Some("nope".into()), ..given };
        assert!(ResolvedToken::resolve_all(&[bad]).is_err());
    }

    #[test]
    fn several_tokens_print_as_a_list_and_skip_token_print_hides_them() {
        let t = |s: &str| ResolvedToken {
            config: BootstrapToken {
                token: None,
                description: String::new(),
                ttl: None,
                expires: None,
                usages: vec![],
                groups: vec![],
            },
            token: Token::parse(s).unwrap(),
        };
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let tokens = [t("aaaaaa.0000000000000000"), t("bbbbbb.0000000000000000")];
        let steps =
            plan_bootstrap_token(&KubeVersion::default_version(), &tokens, true, "https://x:6443", b"", now).unwrap();
        assert_eq!(
            steps[0],
            ApiStep::say("[bootstrap-token] Using tokens: [aaaaaa.0000000000000000 bbbbbb.0000000000000000]")
        );
        let hidden =
            plan_bootstrap_token(&KubeVersion::default_version(), &tokens, false, "https://x:6443", b"", now).unwrap();
        assert!(!hidden.iter().any(|s| matches!(s, ApiStep::Say(l) if l.contains("0000000000000000"))));
        assert_eq!(hidden.len(), steps.len() - 1);
    }
}
