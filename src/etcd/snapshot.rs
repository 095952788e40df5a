//! etcd's `Maintenance.Snapshot` over kbinit's own gRPC client: one member streams its whole database, chunk by
//! chunk, followed by the sha256 of it (see `kbinit_phases::etcd_snapshot::integrity`). Each chunk goes to the
//! caller as it arrives, so a snapshot is never held in memory; a stream that stalls for longer than `idle` or
//! ends with an error is an error here, and the caller keeps nothing of it.

use std::time::Duration;

use super::{EtcdClient, channel, proto};
use crate::grpc::{server_streaming, status_text};

/// What the stream said besides its bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Streamed {
    /// Bytes received (the database and its appended hash).
    pub bytes: u64,
    /// The first response header, when the member sends one (etcd 3.5+): cluster, member, revision of the
    /// snapshot.
    pub header: Option<proto::ResponseHeader>,
}

impl EtcdClient {
    /// Streams a snapshot from `endpoint` alone (a snapshot is one member's copy), handing each chunk to `sink`.
    pub fn snapshot(
        &self,
        endpoint: &str,
        idle: Duration,
        sink: &mut dyn FnMut(&[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<Streamed> {
        let ch = {
            let _in_runtime = self.rt.enter();
            channel(endpoint, &self.tls, self.call_timeout)?
        };
        self.rt.block_on(async {
            let mut stream =
                server_streaming::<_, proto::SnapshotResponse>(ch, proto::SNAPSHOT, proto::SnapshotRequest {})
                    .await
                    .map_err(|e| anyhow::anyhow!("etcd snapshot from {endpoint}: {}", status_text(&e)))?;
            let mut got = Streamed::default();
            loop {
                let next = tokio::time::timeout(idle, stream.message()).await.map_err(|_| {
                    anyhow::anyhow!(
                        "etcd snapshot from {endpoint}: nothing arrived for {}s after {} bytes",
                        idle.as_secs(),
                        got.bytes
                    )
                })?;
                let msg = match next {
                    Ok(Some(m)) => m,
                    Ok(None) => return Ok(got),
                    Err(e) => anyhow::bail!(
                        "etcd snapshot from {endpoint} broke off after {} bytes: {}",
                        got.bytes,
                        status_text(&e)
                    ),
                };
                if got.header.is_none() {
                    got.header = msg.header.filter(|h| h.cluster_id != 0);
                }
                got.bytes += msg.blob.len() as u64;
                sink(&msg.blob)?;
            }
        })
    }
}
