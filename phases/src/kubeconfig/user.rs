//! `kubeconfig user`: a kubeconfig for another user of the cluster, signed by the cluster CA on this node, for
//! the caller to print (never written to the node).
//!
//! Facts from kubeadm's source (`cmd/kubeadm/app/cmd/kubeconfig.go`, `phases/kubeconfig/kubeconfig.go`,
//! `WriteKubeConfigWithClientCert` / `WriteKubeConfigWithToken`, read for this module):
//! - both forms load `ca.crt` *and* `ca.key` from the certificate dir (the token form too) and fail with
//!   "couldn't create a kubeconfig; the CA files couldn't be loaded";
//! - the server is the control-plane endpoint (`controlPlaneEndpoint`, else the local advertise address and
//!   bind port), the cluster is named `clusterName`, user `<client-name>`, context `<client-name>@<cluster>`;
//! - the client certificate: CN = `--client-name`, O = the `--org` values, clientAuth, signed by the CA, key of the
//!   configuration's `encryptionAlgorithm`, NotAfter = now + `--validity-period`. The flag's default is 8760h
//!   and newer kubeadm (v1beta4) writes the flag's value over the configuration's `certificateValidityPeriod`,
//!   so the configuration's value never applies here; kbinit does the same;
//! - with `--token` the user carries that token and no certificate is made;
//! - a validity longer than the default gets a warning.
//!
//! Not like kubeadm: at most one `--org` (the certificate library keeps one value per subject attribute);
//! more are refused as invalid input rather than silently dropped.

use std::time::Duration;

use crate::Error;
use crate::certs::issue::{self, Subject};
use crate::certs::keys::private_key_pem;
use crate::certs::{KeySource, PkiContext, load_cert, load_signing_ca};
use crate::go_format::duration::format_duration;
use crate::paths;
use crate::plan::NodeView;

use super::{UserAuth, control_plane_endpoint, kubeconfig_value};

/// kubeadm's `CertificateValidityPeriod`: the default of `--validity-period` (8760h).
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);

/// What `kubeconfig user` was asked for.
#[derive(Debug, Clone)]
pub struct UserRequest<'a> {
    /// `--client-name`: the user name, the certificate's CN.
    pub client_name: &'a str,
    /// `--org`: the certificate's organizations (the user's groups).
    pub orgs: &'a [String],
    /// `--token`: authenticate with this token instead of a certificate.
    pub token: Option<&'a str>,
    /// `--validity-period`.
    pub validity: Duration,
}

/// The kubeconfig text (YAML, kubeadm's layout) and the warnings to show with it.
#[derive(Debug, Clone)]
pub struct UserKubeconfig {
    /// The document.
    pub text: String,
    /// Warnings (a validity longer than the default, a CA outside its validity).
    pub warnings: Vec<String>,
}

/// Checks the request before anything is read: a user name, a positive validity, no empty organization.
pub fn validate(req: &UserRequest<'_>) -> Result<(), Error> {
    if req.client_name.trim().is_empty() {
        return Err(Error::invalid("--client-name", req.client_name, "the name of the user is required"));
    }
    if req.validity.is_zero() {
        return Err(Error::invalid(
            "--validity-period",
            format_duration(req.validity),
            "must be longer than 0 (the certificate would be expired when issued)",
        ));
    }
    if req.orgs.len() > 1 {
        return Err(Error::invalid(
            "--org",
            req.orgs.join(","),
            "kbinit puts at most one organization into a certificate (kubeadm allows several): give one group",
        ));
    }
    if let Some(o) = req.orgs.iter().find(|o| o.trim().is_empty()) {
        return Err(Error::invalid("--org", o.as_str(), "an organization must not be empty"));
    }
    if req.token.is_some_and(|t| t.trim().is_empty()) {
        return Err(Error::invalid("--token", "", "the token must not be empty"));
    }
    Ok(())
}

/// Builds the kubeconfig for `req` with the CA of `ctx.cluster.certificates_dir` on the node.
pub fn user_kubeconfig(
    ctx: &PkiContext<'_>,
    req: &UserRequest<'_>,
    view: &dyn NodeView,
    keys: &dyn KeySource,
) -> Result<UserKubeconfig, Error> {
    validate(req)?;
    let dir = &ctx.cluster.certificates_dir;
    let (ca_crt, ca_key) = (paths::join(dir, "ca.crt"), paths::join(dir, "ca.key"));
    for f in [&ca_crt, &ca_key] {
        if !view.exists(f) {
            return Err(Error::invalid(
                "certificatesDir",
                dir.as_str(),
                format!("couldn't create a kubeconfig; the CA files couldn't be loaded: {f} does not exist"),
            ));
        }
    }
    let mut warnings = Vec::new();
    if req.validity > DEFAULT_VALIDITY {
        warnings.push(format!(
            "the specified certificate validity period {} is longer than the default duration {}, this may increase security risks.",
            format_duration(req.validity),
            format_duration(DEFAULT_VALIDITY)
        ));
    }
    let server = control_plane_endpoint(ctx.cluster, ctx.node);
    let (ca, auth) = match req.token {
        Some(token) => {
            let ca = load_cert(view, &ca_crt)?
                .ok_or_else(|| Error::Conflict(format!("cannot read the CA certificate {ca_crt:?}")))?;
            (ca, UserAuth::Token(token.to_string()))
        }
        None => {
            let (ca, signing) = load_signing_ca(view, &ca_crt, &ca_key, "a kubeconfig")?;
            let key = keys.key(ctx.cluster.encryption_algorithm)?;
            let orgs: Vec<&str> = req.orgs.iter().map(String::as_str).collect();
            let usage = crate::certs::table_usage_client();
            let subject = Subject { cn: req.client_name, orgs: &orgs, dns: vec![], ips: vec![], usage };
            let cert = issue::issue_leaf(&ca, &signing, &subject, &key, ctx.now, req.validity)?;
            let auth =
                UserAuth::ClientCert { cert_pem: cert.into_bytes(), key_pem: private_key_pem(&key)?.into_bytes() };
            (ca, auth)
        }
    };
    warnings.extend(ca_validity_warning(&ca, ctx.now)?);
    let value = kubeconfig_value(&ctx.cluster.cluster_name, &server, &ca.pem, req.client_name, auth);
    Ok(UserKubeconfig { text: crate::go_format::yaml::to_yaml(&value), warnings })
}

/// kubeadm's `CheckCertificatePeriodValidity` for the CA: a warning when it is expired or not yet valid.
fn ca_validity_warning(ca: &issue::LoadedCert, now: time::OffsetDateTime) -> Result<Option<String>, Error> {
    let x = ca.x509()?;
    let (nb, na) = (x.validity().not_before.to_datetime(), x.validity().not_after.to_datetime());
    Ok(if now < nb {
        Some(format!("the CA certificate {:?} is not valid yet (NotBefore {nb})", ca.path))
    } else if now > na {
        Some(format!("the CA certificate {:?} has expired (NotAfter {na})", ca.path))
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::OnDemandKeys;
    use crate::certs::tests::{now, reference_cluster, reference_node};
    use crate::config::KeyAlgorithm;
    use crate::plan::MemoryNode;

    fn node_with_ca(ctx: &PkiContext<'_>) -> MemoryNode {
        let mut mem = MemoryNode::default();
        let steps = crate::certs::plan_one("ca", ctx, &MemoryNode::default(), &OnDemandKeys).unwrap();
        mem.absorb(&steps);
        mem
    }

    #[test]
    fn certificate_user_has_cn_orgs_and_validity() {
        let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
        let node = reference_node();
        let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
        let mem = node_with_ca(&ctx);
        let orgs = vec!["devs".to_string()];
        let req = UserRequest { client_name: "alice", orgs: &orgs, token: None, validity: Duration::from_secs(7200) };
        let got = user_kubeconfig(&ctx, &req, &mem, &OnDemandKeys).unwrap();
        let doc = crate::go_format::yaml::from_yaml(&got.text).unwrap();
        assert_eq!(doc["current-context"], format!("alice@{}", cluster.cluster_name));
        let b64 = doc["users"][0]["user"]["client-certificate-data"].as_str().unwrap();
        let pem = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
        let cert = issue::LoadedCert::parse("user", &pem).unwrap();
        let x = cert.x509().unwrap();
        let o: Vec<_> = x.subject().iter_organization().map(|o| o.as_str().unwrap().to_string()).collect();
        assert_eq!(o, ["devs"]);
        assert_eq!(x.validity().not_after.to_datetime(), now() + Duration::from_secs(7200));
        assert!(got.warnings.is_empty());
    }

    #[test]
    fn bad_requests_are_invalid_input() {
        let cluster = reference_cluster(KeyAlgorithm::EcdsaP256);
        let node = reference_node();
        let ctx = PkiContext { cluster: &cluster, node: &node, now: now() };
        let no_ca = MemoryNode::default();
        let req = UserRequest { client_name: "alice", orgs: &[], token: None, validity: DEFAULT_VALIDITY };
        let e = user_kubeconfig(&ctx, &req, &no_ca, &OnDemandKeys).unwrap_err();
        assert!(e.is_invalid_input() && e.to_string().contains("ca.crt does not exist"), "{e}");
        let e = validate(&UserRequest { client_name: " ", ..req.clone() }).unwrap_err();
        assert!(e.to_string().contains("--client-name"), "{e}");
        let e = validate(&UserRequest { validity: Duration::ZERO, ..req.clone() }).unwrap_err();
        assert!(e.to_string().contains("--validity-period"), "{e}");
        let two = vec!["a".to_string(), "b".to_string()];
        let e = validate(&UserRequest { orgs: &two, ..req }).unwrap_err();
        assert!(e.to_string().contains("--org"), "{e}");
    }
}
