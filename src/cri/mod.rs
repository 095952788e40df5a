//! The container runtime, reached through the CRI gRPC API (`runtime.v1`) on its unix socket: no `crictl`, and
//! no code generator at build time (the messages are declared by hand in [`proto`]).
//!
//! | module | holds |
//! |---|---|
//! | [`proto`] | the `runtime.v1` messages kbinit uses, with api.proto's field numbers, and the RPC paths |
//! | [`node`] | which socket this node's kubelet was set up with (its instance-config.yaml / kubeadm-flags.env) |
//! | [`ops`] | what kubeadm does with them: the CRI check, image presence and pulls with retries, sandbox removal |
//!
//! **Which releases need crictl.** kubeadm shelled out to `crictl` (`crictl -r <sock> info`, `pods -q`,
//! `stopp`/`rmp`, `inspecti`, `pull`) up to v1.30. kubernetes PR 124685 ("Make kubeadm independent from
//! crictl", release note of v1.31) moved `cmd/kubeadm/app/util/runtime/runtime.go` to the cri-client library:
//! `Status` for the CRI check (failing when the `RuntimeReady` condition is false), `ListPodSandbox` with no
//! filter then `StopPodSandbox` + `RemovePodSandbox` (`RemoveContainerRetry` = 5 tries per sandbox) for reset,
//! `ImageStatus` for presence and `PullImage` (`PullImageRetry` = 5 tries) for pulls, each call but pulls under a
//! 2 s deadline. kubeadm issue 3064 tracks the rest: v1.31 only warns when crictl is missing (PR 125212) and v1.32
//! stops checking for it (PR 126596). kbinit talks CRI itself for every release it sets up — the calls and their
//! outcome are the same runtime operations crictl made — and keeps crictl only where a release's kubeadm still
//! demands it: the `FileExisting-crictl` preflight check of v1.28–v1.30 (see
//! [`crate::preflight::kubelet::crictl_required`]).
//!
//! The client is blocking (its own current-thread runtime, like [`crate::etcd`]); every call has a deadline and
//! every failure is a [`CriError`] that names the socket and says what to do. This module never prints.

pub mod node;
pub mod ops;
pub mod proto;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::Code;
use tonic::transport::{Channel, Endpoint};

/// kubeadm's per-call deadline for the CRI (inherited from crictl).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The deadline of one image pull (kubeadm sets none; kbinit bounds it so a stuck registry ends in an error).
pub const PULL_TIMEOUT: Duration = Duration::from_secs(600);

/// What went wrong talking to the container runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CriError {
    /// Nothing answers on the socket: it does not exist, refuses connections or hangs up.
    Down {
        /// The CRI endpoint (`unix:///run/containerd/containerd.sock`).
        socket: String,
        /// What the connection attempt said.
        reason: String,
    },
    /// The runtime answers but does not implement the RPC (an older CRI, or a runtime without it).
    Unimplemented {
        /// The CRI endpoint.
        socket: String,
        /// The RPC path.
        method: &'static str,
        /// The runtime's message.
        message: String,
    },
    /// No answer within the deadline.
    Timeout {
        /// The CRI endpoint.
        socket: String,
        /// The RPC path.
        method: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// The runtime refused the call.
    Rpc {
        /// The CRI endpoint.
        socket: String,
        /// The RPC path.
        method: &'static str,
        /// The gRPC status code.
        code: Code,
        /// The runtime's message.
        message: String,
    },
}

impl CriError {
    /// `true` for [`CriError::Unimplemented`].
    pub fn is_unimplemented(&self) -> bool {
        matches!(self, CriError::Unimplemented { .. })
    }

    /// The runtime's own words, as gRPC tools print them (`rpc error: code = NotFound desc = …`).
    pub fn runtime_message(&self) -> String {
        match self {
            CriError::Down { reason, .. } => reason.clone(),
            CriError::Unimplemented { message, .. } => format!("rpc error: code = Unimplemented desc = {message}"),
            CriError::Timeout { after, .. } => {
                format!("rpc error: code = DeadlineExceeded desc = no answer within {after:?}")
            }
            CriError::Rpc { code, message, .. } => format!("rpc error: code = {code:?} desc = {message}"),
        }
    }
}

impl std::fmt::Display for CriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CriError::Down { socket, reason } => write!(
                f,
                "no container runtime answers at {socket}: {reason} (start the runtime, e.g. 'systemctl start \
                 containerd', or point criSocket / --cri-socket at its socket)"
            ),
            CriError::Unimplemented { socket, method, message } => write!(
                f,
                "the container runtime at {socket} does not implement {method} (rpc error: code = Unimplemented desc \
                 = {message}); it is too old for the CRI runtime.v1 API kbinit uses: upgrade it"
            ),
            CriError::Timeout { socket, method, after } => {
                write!(f, "the container runtime at {socket} did not answer {method} within {after:?}")
            }
            CriError::Rpc { socket, method, code, message } => write!(
                f,
                "the container runtime at {socket} refused {method}: rpc error: code = {code:?} desc = {message}"
            ),
        }
    }
}

impl std::error::Error for CriError {}

/// The file a `unix://` CRI endpoint names (kubeadm also accepts a bare absolute path).
pub fn socket_file(endpoint: &str) -> &str {
    endpoint.strip_prefix("unix://").unwrap_or(endpoint)
}

/// A connection to a container runtime with a blocking API.
pub struct CriClient {
    rt: tokio::runtime::Runtime,
    channel: Channel,
    /// The endpoint as configured (named in every error).
    pub socket: String,
    /// The deadline of every call but pulls ([`CALL_TIMEOUT`]).
    pub call_timeout: Duration,
    /// The deadline of one pull ([`PULL_TIMEOUT`]).
    pub pull_timeout: Duration,
}

impl std::fmt::Debug for CriClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriClient").field("socket", &self.socket).finish_non_exhaustive()
    }
}

impl CriClient {
    /// Connects to the runtime listening on `path` (the socket file on this node, under `--root`); `socket` is
    /// the endpoint as configured, used in messages.
    pub fn connect(socket: &str, path: &Path) -> Result<CriClient, CriError> {
        let down = |reason: String| CriError::Down { socket: socket.to_string(), reason };
        use std::os::unix::fs::FileTypeExt;
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(down(format!("{} does not exist", path.display())));
            }
            Err(e) => return Err(down(format!("{}: {e}", path.display()))),
            Ok(m) if !m.file_type().is_socket() => return Err(down(format!("{} is not a socket", path.display()))),
            Ok(_) => {}
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| down(format!("cannot start the I/O runtime: {e}")))?;
        let target: PathBuf = path.to_path_buf();
        let connector = tower::service_fn(move |_: http::Uri| {
            let target = target.clone();
            async move { tokio::net::UnixStream::connect(target).await.map(hyper_util::rt::TokioIo::new) }
        });
        // the authority is never dialled: the connector above opens the socket
        let endpoint = Endpoint::from_static("http://cri.sock").connect_timeout(CALL_TIMEOUT);
        let channel = rt
            .block_on(async { tokio::time::timeout(CALL_TIMEOUT, endpoint.connect_with_connector(connector)).await })
            .map_err(|_| down(format!("connecting to {} timed out after {CALL_TIMEOUT:?}", path.display())))?
            .map_err(|e| down(connect_reason(&e, path)))?;
        Ok(CriClient {
            rt,
            channel,
            socket: socket.to_string(),
            call_timeout: CALL_TIMEOUT,
            pull_timeout: PULL_TIMEOUT,
        })
    }

    fn call<Req, Resp>(&self, method: &'static str, req: Req, deadline: Duration) -> Result<Resp, CriError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let socket = || self.socket.clone();
        let fut = crate::grpc::unary(self.channel.clone(), method, req, Some(deadline));
        match self.rt.block_on(async { tokio::time::timeout(deadline, fut).await }) {
            Err(_) => Err(CriError::Timeout { socket: socket(), method, after: deadline }),
            Ok(Ok(r)) => Ok(r),
            Ok(Err(s)) => Err(match s.code() {
                Code::DeadlineExceeded => CriError::Timeout { socket: socket(), method, after: deadline },
                // a status made on this side from a broken connection carries its cause; one the runtime sent
                // (even Unavailable: a registry it could not reach) is the runtime's answer
                _ if std::error::Error::source(&s).is_some() => {
                    CriError::Down { socket: socket(), reason: innermost(&s, s.message()) }
                }
                Code::Unimplemented => {
                    CriError::Unimplemented { socket: socket(), method, message: s.message().into() }
                }
                code => CriError::Rpc { socket: socket(), method, code, message: s.message().into() },
            }),
        }
    }

    /// `Version`: the runtime's name and version and the CRI version it speaks.
    pub fn version(&self) -> Result<proto::VersionResponse, CriError> {
        self.call(proto::path::VERSION, proto::VersionRequest { version: "v1".into() }, self.call_timeout)
    }

    /// `Status`: the runtime's conditions (and, `verbose`, its extra information).
    pub fn status(&self, verbose: bool) -> Result<proto::StatusResponse, CriError> {
        self.call(proto::path::STATUS, proto::StatusRequest { verbose }, self.call_timeout)
    }

    /// `RuntimeConfig`: the runtime's cgroup driver ([`CriError::Unimplemented`] on runtimes without it).
    pub fn runtime_config(&self) -> Result<proto::RuntimeConfigResponse, CriError> {
        self.call(proto::path::RUNTIME_CONFIG, proto::RuntimeConfigRequest {}, self.call_timeout)
    }

    /// `ListPodSandbox` with no filter: every sandbox.
    pub fn list_pod_sandboxes(&self) -> Result<Vec<proto::PodSandbox>, CriError> {
        let r: proto::ListPodSandboxResponse =
            self.call(proto::path::LIST_POD_SANDBOX, proto::ListPodSandboxRequest { filter: None }, self.call_timeout)?;
        Ok(r.items)
    }

    /// `StopPodSandbox`.
    pub fn stop_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = proto::StopPodSandboxRequest { pod_sandbox_id: id.into() };
        self.call::<_, proto::StopPodSandboxResponse>(proto::path::STOP_POD_SANDBOX, req, self.call_timeout)?;
        Ok(())
    }

    /// `RemovePodSandbox`.
    pub fn remove_pod_sandbox(&self, id: &str) -> Result<(), CriError> {
        let req = proto::RemovePodSandboxRequest { pod_sandbox_id: id.into() };
        self.call::<_, proto::RemovePodSandboxResponse>(proto::path::REMOVE_POD_SANDBOX, req, self.call_timeout)?;
        Ok(())
    }

    /// `ListImages` with no filter.
    pub fn list_images(&self) -> Result<Vec<proto::Image>, CriError> {
        let r: proto::ListImagesResponse =
            self.call(proto::path::LIST_IMAGES, proto::ListImagesRequest { filter: None }, self.call_timeout)?;
        Ok(r.images)
    }

    /// `ImageStatus`: the image when the runtime has it, `None` when not.
    pub fn image_status(&self, image: &str) -> Result<Option<proto::Image>, CriError> {
        let req = proto::ImageStatusRequest { image: Some(proto::ImageSpec { image: image.into() }), verbose: false };
        let r: proto::ImageStatusResponse = self.call(proto::path::IMAGE_STATUS, req, self.call_timeout)?;
        Ok(r.image)
    }

    /// `PullImage` (one attempt; [`ops::pull`] retries): the pulled image's reference.
    pub fn pull_image(&self, image: &str) -> Result<String, CriError> {
        let req = proto::PullImageRequest { image: Some(proto::ImageSpec { image: image.into() }) };
        let r: proto::PullImageResponse = self.call(proto::path::PULL_IMAGE, req, self.pull_timeout)?;
        Ok(r.image_ref)
    }
}

/// `what`, then the innermost cause of `e` when it says something else (`transport error: connection reset`).
fn innermost(e: &dyn std::error::Error, what: &str) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let inner = cause.to_string();
    if inner == what || inner.is_empty() { what.to_string() } else { format!("{what}: {inner}") }
}

/// The innermost cause of a failed connection, in a few words (`connection refused`).
fn connect_reason(e: &tonic::transport::Error, path: &Path) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::ConnectionRefused
    {
        return format!(
            "connection refused on {} (the socket is left over from a runtime that stopped)",
            path.display()
        );
    }
    format!("connecting to {}: {cause}", path.display())
}
