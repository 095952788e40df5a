//! One unary or server-streaming gRPC call over a tonic [`Channel`], with messages declared in Rust through prost's derive.
//!
//! kbinit speaks gRPC to two servers it does not own: etcd's v3 API and the container runtime's CRI. Neither
//! needs generated stubs: a unary call is a POST of one length-prefixed protobuf message to
//! `/<package>.<Service>/<Method>`, which [`tonic::client::Grpc`] does given the path and a codec. So the build
//! needs no `protoc` and no build script; the messages carry the field numbers of the upstream `.proto` files by
//! hand (see `etcd/proto.rs` and `cri/proto.rs`).

use http::uri::PathAndQuery;
use tonic::transport::Channel;

/// Sends `request` to the method at `path` (`/etcdserverpb.Cluster/MemberList`) and returns its answer or the
/// server's status (transport failures come back as `Unavailable`, as tonic reports them). `deadline`, when given,
/// goes to the server as `grpc-timeout` (the channel's own timeout applies otherwise).
pub async fn unary<Req, Resp>(
    channel: Channel,
    path: &'static str,
    request: Req,
    deadline: Option<std::time::Duration>,
) -> Result<Resp, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(chain(&e)))?;
    let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
    let mut request = tonic::Request::new(request);
    if let Some(d) = deadline {
        request.set_timeout(d);
    }
    grpc.unary(request, PathAndQuery::from_static(path), codec).await.map(|r| r.into_inner())
}

/// Sends `request` to the server-streaming method at `path` (`/etcdserverpb.Maintenance/Snapshot`) and returns
/// the stream of answers; the caller reads it with [`tonic::Streaming::message`] (and bounds each read itself:
/// the channel's timeout covers only the call's start).
pub async fn server_streaming<Req, Resp>(
    channel: Channel,
    path: &'static str,
    request: Req,
) -> Result<tonic::Streaming<Resp>, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| tonic::Status::unavailable(chain(&e)))?;
    let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
    grpc.server_streaming(tonic::Request::new(request), PathAndQuery::from_static(path), codec)
        .await
        .map(|r| r.into_inner())
}

/// A status as one line: its message, then the causes tonic keeps behind it (the TCP or TLS error that made a
/// connection fail), each once.
pub fn status_text(status: &tonic::Status) -> String {
    let mut text = status.message().to_string();
    let mut src = std::error::Error::source(status);
    while let Some(s) = src {
        let t = s.to_string();
        if !text.contains(&t) {
            text = if text.is_empty() { t } else { format!("{text}: {t}") };
        }
        src = s.source();
    }
    if text.is_empty() { format!("{:?}", status.code()) } else { text }
}

/// An error and its causes as one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !text.contains(&t) {
            text = format!("{text}: {t}");
        }
        src = s.source();
    }
    text
}
