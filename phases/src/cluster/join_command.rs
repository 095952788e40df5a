//! The join command kbinit prints (§G.4): the multi-line form of the init summary, the one-line form of
//! `token create --print-join-command`, and the whole init success summary. Worded as kubeadm words them, with
//! `kbinit` where kubeadm says `kubeadm`.

/// What stands in for a value the operator asked not to print.
pub const WITHHELD: &str = "<value withheld>";

/// What goes into a join command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinCommand {
    /// `host:port` of the API server (admin.conf's server without `https://`).
    pub endpoint: String,
    /// The bootstrap token; `None` prints [`WITHHELD`] (`--skip-token-print`).
    pub token: Option<String>,
    /// `sha256:<hex>` pins, one per CA certificate.
    pub ca_cert_hashes: Vec<String>,
}

/// How the control-plane variant names its certificate key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateKeyText {
    /// No key: the certificates are copied by hand (`--control-plane` alone).
    None,
    /// The key, printed.
    Shown(String),
    /// `--skip-certificate-key-print`: [`WITHHELD`].
    Withheld,
}

impl JoinCommand {
    /// `https://host:port` → `host:port`, as kubeadm strips admin.conf's server.
    pub fn endpoint_from_server(server: &str) -> String {
        server.trim_start_matches("https://").trim_end_matches('/').to_string()
    }

    fn head(&self) -> String {
        let token = self.token.as_deref().unwrap_or(WITHHELD);
        let pins: String = self.ca_cert_hashes.iter().map(|h| format!("--discovery-token-ca-cert-hash {h} ")).collect();
        format!("kbinit join {} --token {token} \\\n\t{pins}", self.endpoint)
    }

    /// The worker command, multi-line (continuation = ` \` newline tab), ending in a space after the last pin.
    pub fn worker(&self) -> String {
        self.head()
    }

    /// The control-plane command, multi-line: the worker command plus `\` newline tab `--control-plane`
    /// `--certificate-key <key>`.
    pub fn control_plane(&self, key: &CertificateKeyText) -> String {
        let key = match key {
            CertificateKeyText::None => String::new(),
            CertificateKeyText::Shown(k) => format!("--certificate-key {k}"),
            CertificateKeyText::Withheld => format!("--certificate-key {WITHHELD}"),
        };
        format!("{}\\\n\t--control-plane {key}", self.head())
    }
}

/// The one-line form `token create --print-join-command` prints: every `\`+newline and every tab removed (so the
/// worker form keeps its trailing space).
pub fn one_line(command: &str) -> String {
    command.replace("\\\n", "").replace('\t', "")
}

/// Inputs of the init success summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSummary {
    /// Path of the admin kubeconfig to copy (the dry-run directory's copy in `--dry-run`).
    pub admin_conf: String,
    /// `true` when controlPlaneEndpoint is set (only then is the control-plane join command shown).
    pub has_control_plane_endpoint: bool,
    /// `true` with `--upload-certs`.
    pub upload_certs: bool,
}

/// The text printed when `init` succeeds (§G.4 last bullet): kubeconfig instructions, the pod network hint, the
/// control-plane join command when a controlPlaneEndpoint is set, and the worker join command.
pub fn init_summary(summary: &InitSummary, join: &JoinCommand, key: &CertificateKeyText) -> String {
    let mut out = format!(
        "Your Kubernetes control-plane has initialized successfully!

To start using your cluster, you need to run the following as a regular user:

  mkdir -p $HOME/.kube
  sudo cp -i {} $HOME/.kube/config
  sudo chown $(id -u):$(id -g) $HOME/.kube/config

Alternatively, if you are the root user, you can run:

  export KUBECONFIG=/etc/kubernetes/admin.conf

You should now deploy a pod network to the cluster.
Run \"kubectl apply -f [podnetwork].yaml\" with one of the options listed at:
  https://kubernetes.io/docs/concepts/cluster-administration/addons/

",
        summary.admin_conf
    );
    if summary.has_control_plane_endpoint {
        if summary.upload_certs {
            out.push_str(&format!(
                "You can now join any number of the control-plane node running the following command on each as root:

  {}

Please note that the certificate-key gives access to cluster sensitive data, keep it secret!
As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use
\"kbinit init phase upload-certs --upload-certs\" to reload certs afterward.

",
                join.control_plane(key)
            ));
        } else {
            out.push_str(&format!(
                "You can now join any number of control-plane nodes by copying certificate authorities
and service account keys on each node and then running the following as root:

  {}

",
                join.control_plane(key)
            ));
        }
    }
    out.push_str(&format!(
        "Then you can join any number of worker nodes by running the following on each as root:

{}
",
        join.worker()
    ));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PIN: &str = "sha256:6cf8ae786a1f40c04818db2347aa1f8e7312b90c413cf92eb279cc68474e9cc0";
    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn cmd() -> JoinCommand {
        JoinCommand {
            endpoint: JoinCommand::endpoint_from_server("https://lb.example.com:6443"),
            token: Some("kh3ugf.ekauarlpivo5s6tj".into()),
            ca_cert_hashes: vec![PIN.into()],
        }
    }

    #[test]
    fn multi_line_forms() {
        assert_eq!(
            cmd().worker(),
            format!(
                "kbinit join lb.example.com:6443 --token kh3ugf.ekauarlpivo5s6tj \\\n\t--discovery-token-ca-cert-hash {PIN} "
            )
        );
        assert_eq!(
            cmd().control_plane(&CertificateKeyText::Shown(KEY.into())),
            format!(
                "kbinit join lb.example.com:6443 --token kh3ugf.ekauarlpivo5s6tj \\\n\t--discovery-token-ca-cert-hash \
                 {PIN} \\\n\t--control-plane --certificate-key {KEY}"
            )
        );
    }

    #[test]
    fn one_line_forms_keep_kubeadms_trailing_space() {
        assert_eq!(
            one_line(&cmd().worker()),
            format!(
                "kbinit join lb.example.com:6443 --token kh3ugf.ekauarlpivo5s6tj --discovery-token-ca-cert-hash {PIN} "
            )
        );
        assert_eq!(
            one_line(&cmd().control_plane(&CertificateKeyText::Shown("K".into()))),
            format!(
                "kbinit join lb.example.com:6443 --token kh3ugf.ekauarlpivo5s6tj --discovery-token-ca-cert-hash {PIN} \
                 --control-plane --certificate-key K"
            )
        );
    }

    #[test]
    fn withheld_values_and_several_pins() {
        let mut c = cmd();
        c.token = None;
        c.ca_cert_hashes.push("sha256:00".into());
        let text = c.control_plane(&CertificateKeyText::Withheld);
        assert_eq!(
            text,
            format!(
                "kbinit join lb.example.com:6443 --token <value withheld> \\\n\t--discovery-token-ca-cert-hash {PIN} \
                 --discovery-token-ca-cert-hash sha256:00 \\\n\t--control-plane --certificate-key <value withheld>"
            )
        );
        assert!(cmd().control_plane(&CertificateKeyText::None).ends_with("\\\n\t--control-plane "));
    }

    /// The summary of the reference dry-run, with `kbinit` for `kubeadm`.
    #[test]
    fn init_summary_matches_the_reference_tail() {
        let admin = "/etc/kubernetes/tmp/kubeadm-init-dryrun2772437488/admin.conf";
        let text = init_summary(
            &InitSummary { admin_conf: admin.into(), has_control_plane_endpoint: true, upload_certs: true },
            &cmd(),
            &CertificateKeyText::Shown(KEY.into()),
        );
        let Some(reference) = crate::cluster::tests::reference_file("init-dry-run.txt") else { return };
        let start = reference.find("Your Kubernetes control-plane").unwrap();
        let expected = reference[start..].replace("kubeadm join", "kbinit join").replace(
            "\"kubeadm init phase upload-certs --upload-certs\"",
            "\"kbinit init phase upload-certs --upload-certs\"",
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn init_summary_without_endpoint_or_upload() {
        let s = InitSummary {
            admin_conf: "/etc/kubernetes/admin.conf".into(),
            has_control_plane_endpoint: false,
            upload_certs: false,
        };
        let text = init_summary(&s, &cmd(), &CertificateKeyText::None);
        assert!(!text.contains("--control-plane"));
        assert!(text.ends_with(&format!("on each as root:\n\n{}\n", cmd().worker())));
        let s = InitSummary { has_control_plane_endpoint: true, ..s };
        let text = init_summary(&s, &cmd(), &CertificateKeyText::None);
        assert!(text.contains("by copying certificate authorities\nand service account keys on each node"));
        assert!(text.contains("\t--control-plane \n\nThen you can join"));
        assert!(!text.contains("two hours"));
    }
}
