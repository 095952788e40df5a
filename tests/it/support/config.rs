//! The InitConfiguration documents the cases start from, built in one place: node `cp1`, one advertise address,
//! a Kubernetes version, and only what a case needs on top (another node name or CRI socket, further
//! nodeRegistration fields, an endpoint, a pod subnet, `ignorePreflightErrors`, extra ClusterConfiguration fields
//! or further documents).

/// A builder of init's `--config` text; [`init_yaml`] starts one.
#[derive(Debug, Clone)]
pub struct InitYaml {
    api: &'static str,
    version: String,
    address: String,
    bind_port: u16,
    node: String,
    cri_socket: Option<String>,
    node_extra: String,
    ignore_all: bool,
    endpoint: Option<String>,
    pod_subnet: bool,
    cluster_extra: String,
    documents: String,
}

/// A v1beta3 InitConfiguration + ClusterConfiguration for node `cp1` advertising `address` on port 6443, with
/// containerd's CRI socket, at Kubernetes `version`.
pub fn init_yaml(version: &str, address: &str) -> InitYaml {
    InitYaml {
        api: "v1beta3",
        version: version.to_string(),
        address: address.to_string(),
        bind_port: 6443,
        node: "cp1".to_string(),
        cri_socket: Some("unix:///run/containerd/containerd.sock".to_string()),
        node_extra: String::new(),
        ignore_all: false,
        endpoint: None,
        pod_subnet: false,
        cluster_extra: String::new(),
        documents: String::new(),
    }
}

impl InitYaml {
    /// Both documents in `kubeadm.k8s.io/v1beta4`.
    pub fn v1beta4(mut self) -> Self {
        self.api = "v1beta4";
        self
    }

    /// The API server's bind port.
    pub fn bind_port(mut self, port: u16) -> Self {
        self.bind_port = port;
        self
    }

    /// `nodeRegistration.name` (default `cp1`).
    pub fn node_name(mut self, name: &str) -> Self {
        self.node = name.to_string();
        self
    }

    /// No `criSocket` (the socket is then detected).
    pub fn without_cri_socket(mut self) -> Self {
        self.cri_socket = None;
        self
    }

    /// `criSocket: <url>` instead of containerd's `/run` socket.
    pub fn cri_socket(mut self, url: &str) -> Self {
        self.cri_socket = Some(url.to_string());
        self
    }

    /// Further nodeRegistration fields (`field: value`, one a line, each ending in a newline).
    pub fn node_registration(mut self, lines: &str) -> Self {
        for l in lines.lines() {
            self.node_extra.push_str(&format!("  {l}\n"));
        }
        self
    }

    /// `ignorePreflightErrors: [all]` (a test host is no real node).
    pub fn ignore_all_preflight(mut self) -> Self {
        self.ignore_all = true;
        self
    }

    /// `controlPlaneEndpoint: <host>:6443`.
    pub fn endpoint(mut self, host: &str) -> Self {
        self.endpoint = Some(host.to_string());
        self
    }

    /// `networking.podSubnet: 10.244.0.0/16`.
    pub fn pod_subnet(mut self) -> Self {
        self.pod_subnet = true;
        self
    }

    /// Further ClusterConfiguration lines (YAML at the document's top level, each ending in a newline).
    pub fn cluster(mut self, lines: &str) -> Self {
        self.cluster_extra.push_str(lines);
        self
    }

    /// A further document after the ClusterConfiguration (without its `---`).
    pub fn document(mut self, doc: &str) -> Self {
        self.documents.push_str("---\n");
        self.documents.push_str(doc);
        self
    }

    /// The `--config` text.
    pub fn build(&self) -> String {
        let (api, address) = (self.api, &self.address);
        let mut s = format!(
            "apiVersion: kubeadm.k8s.io/{api}\nkind: InitConfiguration\nlocalAPIEndpoint:\n  advertiseAddress: {address}\n  \
             bindPort: {}\nnodeRegistration:\n  name: {}\n",
            self.bind_port, self.node
        );
        if let Some(url) = &self.cri_socket {
            s.push_str(&format!("  criSocket: {url}\n"));
        }
        s.push_str(&self.node_extra);
        if self.ignore_all {
            s.push_str("  ignorePreflightErrors: [all]\n");
        }
        s.push_str(&format!(
            "---\napiVersion: kubeadm.k8s.io/{api}\nkind: ClusterConfiguration\nkubernetesVersion: {}\n",
            self.version
        ));
        if let Some(e) = &self.endpoint {
            s.push_str(&format!("controlPlaneEndpoint: {e}:6443\n"));
        }
        if self.pod_subnet {
            s.push_str("networking:\n  podSubnet: 10.244.0.0/16\n");
        }
        s.push_str(&self.cluster_extra);
        s.push_str(&self.documents);
        s
    }
}
