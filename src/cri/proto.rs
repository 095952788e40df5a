//! The CRI `runtime.v1` messages kbinit sends and reads, declared by hand with prost's derive instead of being
//! generated from `api.proto` at build time (so the build needs no `protoc`).
//!
//! Only the fields kbinit uses are declared; every one carries the field number and type of
//! `k8s.io/cri-api/pkg/apis/runtime/v1/api.proto` (package `runtime.v1`), checked message by message against
//! `staging/src/k8s.io/cri-api/pkg/apis/runtime/v1/api.proto` at kubernetes/kubernetes `0268656a`. Protobuf ignores fields a reader does
//! not declare, so a runtime's fuller answers decode, and the requests kbinit sends are valid requests of the full
//! schema. Enumerations are kept as `i32` (prost's representation) with the values named below.

/// `VersionRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionRequest {
    /// The version of the kubelet runtime API (the caller's).
    #[prost(string, tag = "1")]
    pub version: String,
}

/// `VersionResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionResponse {
    /// The version of the kubelet runtime API.
    #[prost(string, tag = "1")]
    pub version: String,
    /// The runtime's name (`containerd`, `cri-o`).
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    /// The runtime's version.
    #[prost(string, tag = "3")]
    pub runtime_version: String,
    /// The CRI version the runtime speaks (`v1`).
    #[prost(string, tag = "4")]
    pub runtime_api_version: String,
}

/// `StatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusRequest {
    /// Ask for the runtime's extra information (`info`).
    #[prost(bool, tag = "1")]
    pub verbose: bool,
}

/// `RuntimeCondition`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuntimeCondition {
    /// `RuntimeReady` or `NetworkReady`.
    #[prost(string, tag = "1")]
    pub r#type: String,
    /// Whether the condition holds.
    #[prost(bool, tag = "2")]
    pub status: bool,
    /// A CamelCase reason for the last transition.
    #[prost(string, tag = "3")]
    pub reason: String,
    /// A human-readable message.
    #[prost(string, tag = "4")]
    pub message: String,
}

/// `RuntimeStatus`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuntimeStatus {
    /// The runtime's conditions.
    #[prost(message, repeated, tag = "1")]
    pub conditions: Vec<RuntimeCondition>,
}

/// `StatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusResponse {
    /// The runtime's status.
    #[prost(message, optional, tag = "1")]
    pub status: Option<RuntimeStatus>,
    /// Extra information (verbose requests only); values are JSON.
    #[prost(map = "string, string", tag = "2")]
    pub info: std::collections::HashMap<String, String>,
}

/// `RuntimeConfigRequest` (no fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuntimeConfigRequest {}

/// `LinuxRuntimeConfiguration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LinuxRuntimeConfiguration {
    /// The `CgroupDriver` enumeration: [`CGROUP_DRIVER_SYSTEMD`] or [`CGROUP_DRIVER_CGROUPFS`].
    #[prost(int32, tag = "1")]
    pub cgroup_driver: i32,
}

/// `CgroupDriver.SYSTEMD`.
pub const CGROUP_DRIVER_SYSTEMD: i32 = 0;
/// `CgroupDriver.CGROUPFS`.
pub const CGROUP_DRIVER_CGROUPFS: i32 = 1;

/// `RuntimeConfigResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RuntimeConfigResponse {
    /// The Linux part of the runtime's configuration.
    #[prost(message, optional, tag = "1")]
    pub linux: Option<LinuxRuntimeConfiguration>,
}

/// `PodSandboxState.SANDBOX_READY`.
pub const SANDBOX_READY: i32 = 0;
/// `PodSandboxState.SANDBOX_NOTREADY`.
pub const SANDBOX_NOTREADY: i32 = 1;

/// `PodSandboxStateValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxStateValue {
    /// A `PodSandboxState`.
    #[prost(int32, tag = "1")]
    pub state: i32,
}

/// `PodSandboxFilter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxFilter {
    /// Only this sandbox.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Only sandboxes in this state.
    #[prost(message, optional, tag = "2")]
    pub state: Option<PodSandboxStateValue>,
    /// Only sandboxes with all these labels.
    #[prost(map = "string, string", tag = "3")]
    pub label_selector: std::collections::HashMap<String, String>,
}

/// `ListPodSandboxRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListPodSandboxRequest {
    /// `None` lists every sandbox (what kubeadm asks for).
    #[prost(message, optional, tag = "1")]
    pub filter: Option<PodSandboxFilter>,
}

/// `PodSandboxMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxMetadata {
    /// The Pod's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The Pod's UID.
    #[prost(string, tag = "2")]
    pub uid: String,
    /// The Pod's namespace.
    #[prost(string, tag = "3")]
    pub namespace: String,
    /// The attempt number.
    #[prost(uint32, tag = "4")]
    pub attempt: u32,
}

/// `PodSandbox`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandbox {
    /// The sandbox ID.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Which Pod it is.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<PodSandboxMetadata>,
    /// A `PodSandboxState`.
    #[prost(int32, tag = "3")]
    pub state: i32,
    /// Creation time in nanoseconds.
    #[prost(int64, tag = "4")]
    pub created_at: i64,
    /// Labels.
    #[prost(map = "string, string", tag = "5")]
    pub labels: std::collections::HashMap<String, String>,
}

/// `ListPodSandboxResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListPodSandboxResponse {
    /// The sandboxes.
    #[prost(message, repeated, tag = "1")]
    pub items: Vec<PodSandbox>,
}

/// `StopPodSandboxRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StopPodSandboxRequest {
    /// The sandbox ID.
    #[prost(string, tag = "1")]
    pub pod_sandbox_id: String,
}

/// `StopPodSandboxResponse` (no fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StopPodSandboxResponse {}

/// `RemovePodSandboxRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RemovePodSandboxRequest {
    /// The sandbox ID.
    #[prost(string, tag = "1")]
    pub pod_sandbox_id: String,
}

/// `RemovePodSandboxResponse` (no fields).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RemovePodSandboxResponse {}

/// `ImageSpec`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageSpec {
    /// The image reference (`registry.k8s.io/pause:3.9`).
    #[prost(string, tag = "1")]
    pub image: String,
}

/// `ImageFilter`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageFilter {
    /// Only this image.
    #[prost(message, optional, tag = "1")]
    pub image: Option<ImageSpec>,
}

/// `ListImagesRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListImagesRequest {
    /// `None` lists every image.
    #[prost(message, optional, tag = "1")]
    pub filter: Option<ImageFilter>,
}

/// `Image`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Image {
    /// The image ID (`sha256:…`).
    #[prost(string, tag = "1")]
    pub id: String,
    /// Tags (`registry.k8s.io/pause:3.9`).
    #[prost(string, repeated, tag = "2")]
    pub repo_tags: Vec<String>,
    /// Digests (`registry.k8s.io/pause@sha256:…`).
    #[prost(string, repeated, tag = "3")]
    pub repo_digests: Vec<String>,
    /// Size in bytes.
    #[prost(uint64, tag = "4")]
    pub size: u64,
}

/// `ListImagesResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListImagesResponse {
    /// The images.
    #[prost(message, repeated, tag = "1")]
    pub images: Vec<Image>,
}

/// `ImageStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageStatusRequest {
    /// The image asked about.
    #[prost(message, optional, tag = "1")]
    pub image: Option<ImageSpec>,
    /// Ask for extra information.
    #[prost(bool, tag = "2")]
    pub verbose: bool,
}

/// `ImageStatusResponse`: `image` is `None` when the runtime does not have it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageStatusResponse {
    /// The image, when present.
    #[prost(message, optional, tag = "1")]
    pub image: Option<Image>,
}

/// `PullImageRequest` (kubeadm sends no `auth` (2) and no `sandbox_config` (3)).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullImageRequest {
    /// The image to pull.
    #[prost(message, optional, tag = "1")]
    pub image: Option<ImageSpec>,
}

/// `PullImageResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PullImageResponse {
    /// The reference of the pulled image (its ID or digest).
    #[prost(string, tag = "1")]
    pub image_ref: String,
}

/// The gRPC paths of the RPCs kbinit calls.
pub mod path {
    /// `RuntimeService.Version`.
    pub const VERSION: &str = "/runtime.v1.RuntimeService/Version";
    /// `RuntimeService.Status`.
    pub const STATUS: &str = "/runtime.v1.RuntimeService/Status";
    /// `RuntimeService.RuntimeConfig`.
    pub const RUNTIME_CONFIG: &str = "/runtime.v1.RuntimeService/RuntimeConfig";
    /// `RuntimeService.ListPodSandbox`.
    pub const LIST_POD_SANDBOX: &str = "/runtime.v1.RuntimeService/ListPodSandbox";
    /// `RuntimeService.StopPodSandbox`.
    pub const STOP_POD_SANDBOX: &str = "/runtime.v1.RuntimeService/StopPodSandbox";
    /// `RuntimeService.RemovePodSandbox`.
    pub const REMOVE_POD_SANDBOX: &str = "/runtime.v1.RuntimeService/RemovePodSandbox";
    /// `ImageService.ListImages`.
    pub const LIST_IMAGES: &str = "/runtime.v1.ImageService/ListImages";
    /// `ImageService.ImageStatus`.
    pub const IMAGE_STATUS: &str = "/runtime.v1.ImageService/ImageStatus";
    /// `ImageService.PullImage`.
    pub const PULL_IMAGE: &str = "/runtime.v1.ImageService/PullImage";
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Field numbers are what the wire carries: a `PullImageRequest` for `pause:3.9` is field 1 (a message) holding
    /// field 1 (a string), byte for byte as protoc-generated code encodes it.
    #[test]
    fn wire_bytes_follow_the_field_numbers() {
        let req = PullImageRequest { image: Some(ImageSpec { image: "pause:3.9".into() }) };
        assert_eq!(req.encode_to_vec(), b"\x0a\x0b\x0a\x09pause:3.9");
        let stop = StopPodSandboxRequest { pod_sandbox_id: "ab".into() };
        assert_eq!(stop.encode_to_vec(), b"\x0a\x02ab");
        // a StatusResponse with fields kbinit does not declare (runtime_handlers = 3) still decodes
        let mut bytes = StatusResponse {
            status: Some(RuntimeStatus {
                conditions: vec![RuntimeCondition {
                    r#type: "RuntimeReady".into(),
                    status: true,
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }
        .encode_to_vec();
        bytes.extend_from_slice(b"\x1a\x02\x0a\x00");
        let back = StatusResponse::decode(bytes.as_slice()).unwrap();
        assert!(back.status.unwrap().conditions[0].status);
    }
}
