//! `nodeRegistration` and `localAPIEndpoint` resolved: name, CRI socket, taints, ignored preflight errors,
//! the advertise address and port, defaulted from the host facts.

use super::*;
use crate::Error;

/// Everything `nodeRegistration` resolves to, given where values came from.
pub(super) struct NodeRegInput<'a> {
    pub(super) wire: WireNodeRegistration,
    pub(super) flag_name: Option<&'a String>,
    pub(super) flag_cri: Option<&'a String>,
    pub(super) flag_ignore: Option<&'a Vec<String>>,
    pub(super) control_plane: bool,
}

pub(super) fn node_registration(
    inp: NodeRegInput<'_>,
    api: ApiVersion,
    nm: Namer,
    kind: &str,
    host: &HostFacts,
    warnings: &mut Vec<String>,
) -> Result<NodeRegistration, Error> {
    let mut w = inp.wire;
    drop_foreign(
        &mut w.image_pull_serial,
        api,
        ApiVersion::V1beta4,
        "nodeRegistration.imagePullSerial",
        kind,
        warnings,
    );
    let (given, name_field) = match inp.flag_name {
        Some(n) => (n.clone(), "--node-name"),
        None => (w.name.filter(|s| !s.is_empty()).unwrap_or_else(|| host.hostname.clone()), "nodeRegistration.name"),
    };
    let name = normalize_node_name(name_field, &given)?;
    let cri_field = nm.n("nodeRegistration.criSocket", "cri-socket");
    let cri_given = inp.flag_cri.cloned().or(w.cri_socket).filter(|s| !s.is_empty());
    let cri_socket = match cri_given {
        Some(s) if s.contains("://") => {
            validate_cri_socket(&cri_field, &s)?;
            s
        }
        Some(s) if s.starts_with('/') => {
            warnings.push(format!(
                "{cri_field}: usage of CRI endpoints without URL scheme is deprecated; using \"unix://{s}\""
            ));
            format!("unix://{s}")
        }
        Some(s) => {
            return Err(Error::invalid(cri_field, &s, "expected a unix:// URL or an absolute socket path"));
        }
        None => match host.cri_sockets.as_slice() {
            [] => DEFAULT_CRI_SOCKET.to_string(),
            [one] => one.clone(),
            many => {
                return Err(Error::invalid(
                    cri_field,
                    many.join(", "),
                    "found multiple CRI endpoints on the host. Please define which one do you wish to use by setting \
                     the 'criSocket' field in the kubeadm configuration file",
                ));
            }
        },
    };
    let taints = match w.taints {
        None if inp.control_plane => {
            vec![Taint {
                key: CONTROL_PLANE_TAINT.into(),
                value: String::new(),
                effect: "NoSchedule".into(),
                time_added: String::new(),
            }]
        }
        None => Vec::new(),
        Some(list) => {
            let mut out = Vec::new();
            for (i, t) in list.into_iter().enumerate() {
                if t.key.is_empty() {
                    return Err(Error::invalid(format!("nodeRegistration.taints[{i}].key"), "", "a taint needs a key"));
                }
                if !matches!(t.effect.as_str(), "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
                    return Err(Error::invalid(
                        format!("nodeRegistration.taints[{i}].effect"),
                        &t.effect,
                        "must be NoSchedule, PreferNoSchedule or NoExecute",
                    ));
                }
                let time_added = t.time_added.unwrap_or_default();
                if !time_added.is_empty()
                    && serde_json::from_value::<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>(
                        serde_json::Value::String(time_added.clone()),
                    )
                    .is_err()
                {
                    return Err(Error::invalid(
                        format!("nodeRegistration.taints[{i}].timeAdded"),
                        &time_added,
                        "not an RFC 3339 time",
                    ));
                }
                out.push(Taint { key: t.key, value: t.value.unwrap_or_default(), effect: t.effect, time_added });
            }
            out
        }
    };
    let kubelet_extra_args = args(w.kubelet_extra_args, api, !nm.flags, "nodeRegistration.kubeletExtraArgs")?;
    let mut ignore = w.ignore_preflight_errors.unwrap_or_default();
    let ignore_field = match inp.flag_ignore {
        Some(f) => {
            ignore.extend(f.iter().cloned());
            "--ignore-preflight-errors"
        }
        None => "nodeRegistration.ignorePreflightErrors",
    };
    let ignore_preflight_errors = normalize_ignore_preflight(ignore_field, &ignore)?;
    let image_pull_policy = w.image_pull_policy.filter(|s| !s.is_empty()).unwrap_or_else(|| "IfNotPresent".into());
    validate_image_pull_policy("nodeRegistration.imagePullPolicy", &image_pull_policy)?;
    let image_pull_serial = w.image_pull_serial.unwrap_or(true);
    Ok(NodeRegistration {
        name,
        cri_socket,
        taints,
        kubelet_extra_args,
        ignore_preflight_errors,
        image_pull_policy,
        image_pull_serial,
    })
}

pub(super) fn endpoint(
    w: Option<WireEndpoint>,
    nm: Namer,
    prefix: &str,
    host: &HostFacts,
) -> Result<ApiEndpoint, Error> {
    let w = w.unwrap_or_default();
    let addr_field = nm.n(&format!("{prefix}localAPIEndpoint.advertiseAddress"), "apiserver-advertise-address");
    // an unspecified address (0.0.0.0, ::) means "the default-route address", as with none
    let advertise_address = match w.advertise_address.filter(|s| !s.is_empty() && !is_unspecified_address(s)) {
        Some(a) => validate_advertise_address(&addr_field, &a)?,
        None => {
            let ip = host.default_address.ok_or_else(|| {
                Error::invalid(
                    &addr_field,
                    "",
                    "no address given and none found on the host's default route; set the advertise address",
                )
            })?;
            validate_advertise_address(&addr_field, &ip.to_string())?
        }
    };
    let port_field = nm.n(&format!("{prefix}localAPIEndpoint.bindPort"), "apiserver-bind-port");
    let bind_port = match w.bind_port {
        None | Some(0) => 6443,
        Some(p) => validate_port(&port_field, p)?,
    };
    Ok(ApiEndpoint { advertise_address, bind_port })
}
