//! A CRI server stand-in (a test fixture, never product code): `runtime.v1` RuntimeService and ImageService on a
//! unix socket the test names, served by tonic's server pieces with hand-written dispatch, answering as
//! containerd does — the images it holds, the pod sandboxes it runs, `PullImage` that can be told to refuse an
//! image (a number of times, or always) with containerd's code and message, `StopPodSandbox` of an unknown sandbox
//! NotFound, `RemovePodSandbox` of an unknown one OK (containerd's idempotent remove), `ImageStatus` of an absent
//! image an empty answer, and Unimplemented for every RPC it does not know (`unknown method X for service Y`, as
//! grpc-go words it) — `RuntimeConfig` among them when told to play a containerd 1.7.
//!
//! Every call is recorded (`calls`) so a test can assert what kbinit asked, in which order.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use kbinit::cri::proto::{self, path};
use tonic::codegen::http;
use tonic::server::NamedService;
use tonic::{Code, Status};

/// One sandbox the stand-in runs.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub id: String,
    pub name: String,
    pub namespace: String,
    pub ready: bool,
}

impl Sandbox {
    pub fn new(id: &str, name: &str) -> Sandbox {
        Sandbox { id: id.into(), name: name.into(), namespace: "kube-system".into(), ready: true }
    }
}

/// What the runtime holds and how it behaves.
#[derive(Debug, Default)]
pub struct State {
    /// Image references present.
    pub images: Vec<String>,
    /// Pod sandboxes.
    pub sandboxes: Vec<Sandbox>,
    /// Pulls of an image that fail before one succeeds (`usize::MAX`: always), with the code and message.
    pub refuse_pull: HashMap<String, (usize, Code, String)>,
    /// Stops of a sandbox that fail before one succeeds.
    pub refuse_stop: HashMap<String, usize>,
    /// Play a runtime without the RuntimeConfig RPC (containerd 1.7).
    pub no_runtime_config: bool,
    /// The sandbox image a verbose Status reports in its `config` info (containerd 1.x's `sandboxImage`).
    pub sandbox_image: Option<String>,
    /// The RuntimeReady condition (`None`: true).
    pub not_ready: Option<(String, String)>,
    /// How long each pull takes (the server keeps serving others meanwhile).
    pub pull_delay: std::time::Duration,
    /// Pulls in progress now, and the most there ever were at once.
    pub pulls_in_flight: usize,
    pub max_pulls_in_flight: usize,
    /// Every call: (RPC path, its subject: image or sandbox id, or "").
    pub calls: Vec<(String, String)>,
}

/// The running stand-in; dropping it stops the server (the socket file stays, like a crashed runtime's).
pub struct CriStub {
    pub socket: PathBuf,
    pub state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CriStub {
    /// Serves on `socket` (its directory is created).
    pub fn start(socket: &Path, state: State) -> CriStub {
        std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(socket);
        let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(state));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = tokio::net::UnixListener::from_std(listener).unwrap();
                let incoming = tonic::codegen::tokio_stream::wrappers::UnixListenerStream::new(listener);
                let server = tonic::transport::Server::builder()
                    .add_service(Runtime(shared.clone()))
                    .add_service(Images(shared))
                    .serve_with_incoming(incoming);
                tokio::select! {
                    r = server => r.unwrap(),
                    _ = rx => {}
                }
            });
            // dropping the runtime cancels every connection at once, as a runtime that stops does
            drop(rt);
        });
        CriStub { socket: socket.to_path_buf(), state, stop: Some(tx), thread: Some(thread) }
    }

    /// The calls made so far.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// How many calls of one RPC were made.
    pub fn count(&self, rpc: &str) -> usize {
        self.calls().iter().filter(|(p, _)| p == rpc).count()
    }
}

impl Drop for CriStub {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

type BoxFuture = std::pin::Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

/// Answers one unary call with `f` (decoding `Req`, encoding `Resp`).
async fn unary<Req, Resp, F>(req: http::Request<tonic::body::Body>, f: F) -> http::Response<tonic::body::Body>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    F: FnOnce(Req) -> Result<Resp, Status> + Send + 'static,
{
    let mut f = Some(f);
    let svc = tower::service_fn(move |r: tonic::Request<Req>| {
        let out = match f.take() {
            Some(f) => f(r.into_inner()).map(tonic::Response::new),
            None => Err(Status::internal("called twice")),
        };
        std::future::ready(out)
    });
    let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default());
    grpc.unary(svc, req).await
}

fn unknown(service: &str, path: &str) -> http::Response<tonic::body::Body> {
    let method = path.rsplit('/').next().unwrap_or(path);
    Status::unimplemented(format!("unknown method {method} for service {service}")).into_http()
}

fn record(state: &Arc<Mutex<State>>, rpc: &str, subject: &str) {
    state.lock().unwrap().calls.push((rpc.to_string(), subject.to_string()));
}

/// `runtime.v1.RuntimeService`.
#[derive(Clone)]
struct Runtime(Arc<Mutex<State>>);

impl NamedService for Runtime {
    const NAME: &'static str = "runtime.v1.RuntimeService";
}

impl tower::Service<http::Request<tonic::body::Body>> for Runtime {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> BoxFuture {
        let st = self.0.clone();
        let p = req.uri().path().to_string();
        Box::pin(async move {
            Ok(match p.as_str() {
                path::VERSION => {
                    record(&st, &p, "");
                    unary(req, |_: proto::VersionRequest| {
                        Ok(proto::VersionResponse {
                            version: "0.1.0".into(),
                            runtime_name: "containerd".into(),
                            runtime_version: "v2.1.4".into(),
                            runtime_api_version: "v1".into(),
                        })
                    })
                    .await
                }
                path::STATUS => {
                    record(&st, &p, "");
                    let (not_ready, sandbox) = {
                        let s = st.lock().unwrap();
                        (s.not_ready.clone(), s.sandbox_image.clone())
                    };
                    unary(req, move |r: proto::StatusRequest| {
                        let (ready, reason, message) = match not_ready {
                            None => (true, String::new(), String::new()),
                            Some((r, m)) => (false, r, m),
                        };
                        let cond = |t: &str, s: bool, r: &str, m: &str| proto::RuntimeCondition {
                            r#type: t.into(),
                            status: s,
                            reason: r.into(),
                            message: m.into(),
                        };
                        Ok(proto::StatusResponse {
                            status: Some(proto::RuntimeStatus {
                                conditions: vec![
                                    cond("RuntimeReady", ready, &reason, &message),
                                    cond("NetworkReady", false, "NetworkPluginNotReady", "cni plugin not initialized"),
                                ],
                            }),
                            info: match (r.verbose, sandbox) {
                                (true, Some(img)) => [(
                                    "config".to_string(),
                                    serde_json::json!({ "sandboxImage": img, "enableSelinux": false }).to_string(),
                                )]
                                .into(),
                                _ => Default::default(),
                            },
                        })
                    })
                    .await
                }
                path::RUNTIME_CONFIG if !st.lock().unwrap().no_runtime_config => {
                    record(&st, &p, "");
                    unary(req, |_: proto::RuntimeConfigRequest| {
                        Ok(proto::RuntimeConfigResponse {
                            linux: Some(proto::LinuxRuntimeConfiguration {
                                cgroup_driver: proto::CGROUP_DRIVER_SYSTEMD,
                            }),
                        })
                    })
                    .await
                }
                path::LIST_POD_SANDBOX => {
                    record(&st, &p, "");
                    let items = st.lock().unwrap().sandboxes.clone();
                    unary(req, move |_: proto::ListPodSandboxRequest| {
                        Ok(proto::ListPodSandboxResponse {
                            items: items
                                .into_iter()
                                .map(|s| proto::PodSandbox {
                                    id: s.id,
                                    metadata: Some(proto::PodSandboxMetadata {
                                        name: s.name,
                                        uid: "uid".into(),
                                        namespace: s.namespace,
                                        attempt: 0,
                                    }),
                                    state: if s.ready { proto::SANDBOX_READY } else { proto::SANDBOX_NOTREADY },
                                    created_at: 1,
                                    labels: Default::default(),
                                })
                                .collect(),
                        })
                    })
                    .await
                }
                path::STOP_POD_SANDBOX => {
                    let st2 = st.clone();
                    unary(req, move |r: proto::StopPodSandboxRequest| {
                        record(&st2, path::STOP_POD_SANDBOX, &r.pod_sandbox_id);
                        let mut s = st2.lock().unwrap();
                        if let Some(n) = s.refuse_stop.get_mut(&r.pod_sandbox_id)
                            && *n > 0
                        {
                            *n -= 1;
                            return Err(Status::unknown(format!(
                                "failed to stop sandbox container \"{}\" in \"SANDBOX_READY\" state: context deadline exceeded",
                                r.pod_sandbox_id
                            )));
                        }
                        match s.sandboxes.iter_mut().find(|x| x.id == r.pod_sandbox_id) {
                            Some(x) => {
                                x.ready = false;
                                Ok(proto::StopPodSandboxResponse {})
                            }
                            None => Err(Status::not_found(format!(
                                "an error occurred when try to find sandbox \"{}\": not found",
                                r.pod_sandbox_id
                            ))),
                        }
                    })
                    .await
                }
                path::REMOVE_POD_SANDBOX => {
                    let st2 = st.clone();
                    unary(req, move |r: proto::RemovePodSandboxRequest| {
                        record(&st2, path::REMOVE_POD_SANDBOX, &r.pod_sandbox_id);
                        st2.lock().unwrap().sandboxes.retain(|x| x.id != r.pod_sandbox_id);
                        Ok(proto::RemovePodSandboxResponse {})
                    })
                    .await
                }
                other => {
                    record(&st, other, "");
                    unknown(Self::NAME, other)
                }
            })
        })
    }
}

/// `runtime.v1.ImageService`.
#[derive(Clone)]
struct Images(Arc<Mutex<State>>);

impl NamedService for Images {
    const NAME: &'static str = "runtime.v1.ImageService";
}

fn image(reference: &str) -> proto::Image {
    proto::Image {
        id: format!("sha256:{:064x}", reference.len()),
        repo_tags: vec![reference.into()],
        ..Default::default()
    }
}

impl tower::Service<http::Request<tonic::body::Body>> for Images {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> BoxFuture {
        let st = self.0.clone();
        let p = req.uri().path().to_string();
        Box::pin(async move {
            Ok(match p.as_str() {
                path::LIST_IMAGES => {
                    record(&st, &p, "");
                    let images = st.lock().unwrap().images.clone();
                    unary(req, move |_: proto::ListImagesRequest| {
                        Ok(proto::ListImagesResponse { images: images.iter().map(|i| image(i)).collect() })
                    })
                    .await
                }
                path::IMAGE_STATUS => {
                    let st2 = st.clone();
                    unary(req, move |r: proto::ImageStatusRequest| {
                        let wanted = r.image.map(|i| i.image).unwrap_or_default();
                        record(&st2, path::IMAGE_STATUS, &wanted);
                        let have = st2.lock().unwrap().images.contains(&wanted);
                        Ok(proto::ImageStatusResponse { image: have.then(|| image(&wanted)) })
                    })
                    .await
                }
                path::PULL_IMAGE => {
                    let delay = {
                        let mut s = st.lock().unwrap();
                        s.pulls_in_flight += 1;
                        s.max_pulls_in_flight = s.max_pulls_in_flight.max(s.pulls_in_flight);
                        s.pull_delay
                    };
                    tokio::time::sleep(delay).await;
                    st.lock().unwrap().pulls_in_flight -= 1;
                    let st2 = st.clone();
                    unary(req, move |r: proto::PullImageRequest| {
                        let wanted = r.image.map(|i| i.image).unwrap_or_default();
                        record(&st2, path::PULL_IMAGE, &wanted);
                        let mut s = st2.lock().unwrap();
                        if let Some((n, code, msg)) = s.refuse_pull.get_mut(&wanted)
                            && *n > 0
                        {
                            if *n != usize::MAX {
                                *n -= 1;
                            }
                            return Err(Status::new(*code, msg.clone()));
                        }
                        if !s.images.contains(&wanted) {
                            s.images.push(wanted.clone());
                        }
                        Ok(proto::PullImageResponse { image_ref: image(&wanted).id })
                    })
                    .await
                }
                other => {
                    record(&st, other, "");
                    unknown(Self::NAME, other)
                }
            })
        })
    }
}
