//! Phase `addon` (§F rows 22–33, §F.2, §F.3): CoreDNS and kube-proxy as typed objects, in kubeadm's order.
//!
//! What kubeadm reads from the cluster first (the replica count of an existing CoreDNS Deployment, whether the
//! existing `coredns` ConfigMap holds a Corefile the operator changed) is read by the binary and passed in as
//! [`CoreDnsState`]; the planners here only decide.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ContainerPort, HTTPGetAction};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::Error;
use crate::api::ApiStep;
use crate::config::InitConfiguration;

mod coredns;
mod kube_proxy;

pub use coredns::{
    CoreDnsState, coredns_deployment, coredns_image, default_corefile, default_corefile_for, dns_service_ip,
    is_default_corefile, kube_dns_service, plan_coredns,
};
pub use kube_proxy::{kube_proxy_configmap, kube_proxy_configuration, kube_proxy_daemonset, plan_kube_proxy};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The whole `addon` phase: CoreDNS, then kube-proxy.
pub fn plan_addons(
    init: &InitConfiguration,
    dns: &CoreDnsState,
    proxy_env: &[(String, String)],
) -> Result<Vec<ApiStep>, Error> {
    let mut steps = plan_coredns(&init.cluster, dns)?;
    steps.extend(plan_kube_proxy(init, proxy_env)?);
    Ok(steps)
}
