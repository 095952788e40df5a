//! kubeadm's warnings about a user's KubeletConfiguration / KubeProxyConfiguration (`componentconfigs`
//! `Default()`, the same in 1.28 and 1.33 sources): a field kubeadm would set itself, given another value, is
//! kept as given and warned about with `The recommended value for "<field>" in "<Kind>" is: <v>; the provided
//! value is: <v>` (`warnDefaultComponentConfigValue`). kubeadm forces `rotateCertificates: true` without a
//! warning, as [`crate::kubelet::kubelet_configuration`] does.

use serde_json::Value;

use super::*;

/// Go's `%v` of a JSON value: strings bare, lists as `[a b]`.
fn go_v(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        other => other.to_string(),
    }
}

fn warn(out: &mut Vec<String>, kind: &str, field: &str, recommended: &str, provided: &Value) {
    out.push(format!(
        "The recommended value for {field:?} in {kind:?} is: {recommended}; the provided value is: {}",
        go_v(provided)
    ));
}

/// The warnings for the component configuration documents of an init configuration.
pub(super) fn component_config_warnings(
    cluster: &ClusterConfiguration,
    advertise: std::net::IpAddr,
    kubelet: Option<&Value>,
    kube_proxy: Option<&Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(k) = kubelet {
        let kind = "KubeletConfiguration";
        let at = |p: &str| k.pointer(p).filter(|v| !v.is_null());
        let manifests = crate::paths::MANIFESTS_DIR;
        if let Some(v) = at("/staticPodPath").filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != manifests)) {
            warn(&mut out, kind, "staticPodPath", manifests, v);
        }
        let dns = crate::kubelet::cluster_dns(&cluster.networking.service_subnet);
        if let Some(v) = at("/clusterDNS")
            && !(v.as_array().is_some_and(|a| a.len() == 1 && a[0].as_str() == Some(dns.as_str())))
        {
            warn(&mut out, kind, "clusterDNS", &format!("[{dns}]"), v);
        }
        let domain = &cluster.networking.dns_domain;
        if let Some(v) = at("/clusterDomain").filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != domain)) {
            warn(&mut out, kind, "clusterDomain", domain, v);
        }
        let ca = crate::paths::join(&cluster.certificates_dir, "ca.crt");
        if let Some(v) =
            at("/authentication/x509/clientCAFile").filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != ca))
        {
            warn(&mut out, kind, "authentication.x509.clientCAFile", &ca, v);
        }
        if let Some(v) = at("/authentication/anonymous/enabled").filter(|v| v.as_bool() == Some(true)) {
            warn(&mut out, kind, "authentication.anonymous.enabled", "false", v);
        }
        if let Some(v) =
            at("/authorization/mode").filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != "Webhook"))
        {
            warn(&mut out, kind, "authorization.mode", "Webhook", v);
        }
        if let Some(v) = at("/authentication/webhook/enabled").filter(|v| v.as_bool() == Some(false)) {
            warn(&mut out, kind, "authentication.webhook.enabled", "true", v);
        }
        if let Some(v) =
            at("/healthzBindAddress").filter(|v| v.as_str().is_some_and(|s| !s.is_empty() && s != "127.0.0.1"))
        {
            warn(&mut out, kind, "healthzBindAddress", "127.0.0.1", v);
        }
        if let Some(v) = at("/healthzPort").filter(|v| v.as_i64() != Some(10248)) {
            warn(&mut out, kind, "healthzPort", "10248", v);
        }
        if let Some(v) = at("/readOnlyPort").filter(|v| v.as_i64() != Some(0)) {
            warn(&mut out, kind, "readOnlyPort", "0", v);
        }
    }
    if let Some(p) = kube_proxy {
        let kind = "KubeProxyConfiguration";
        let set = |ptr: &str| p.pointer(ptr).filter(|v| v.as_str().is_some_and(|s| !s.is_empty()));
        let bind = if advertise.is_ipv6() { "::" } else { "0.0.0.0" };
        if let Some(v) = set("/bindAddress").filter(|v| v.as_str() != Some(bind)) {
            warn(&mut out, kind, "bindAddress", bind, v);
        }
        let pods = &cluster.networking.pod_subnet;
        if let Some(v) = set("/clusterCIDR").filter(|v| !pods.is_empty() && v.as_str() != Some(pods.as_str())) {
            warn(&mut out, kind, "clusterCIDR", pods, v);
        }
        let kubeconfig = "/var/lib/kube-proxy/kubeconfig.conf";
        if let Some(v) = set("/clientConnection/kubeconfig").filter(|v| v.as_str() != Some(kubeconfig)) {
            warn(&mut out, kind, "clientConnection.kubeconfig", kubeconfig, v);
        }
    }
    out
}
