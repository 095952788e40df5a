//! The etcd v3 messages kbinit sends and reads, declared by hand with prost's derive (no `protoc`): the
//! membership calls of `etcdserverpb.Cluster`, and `Status` and the server-streaming `Snapshot` of
//! `etcdserverpb.Maintenance`.
//!
//! Field numbers and types are those of etcd's `api/etcdserverpb/rpc.proto` (unchanged from 3.4 to 3.6; fields
//! kbinit does not read are left out, which protobuf allows: a decoder skips unknown fields).

/// `/etcdserverpb.Cluster/MemberList`.
pub const MEMBER_LIST: &str = "/etcdserverpb.Cluster/MemberList";
/// `/etcdserverpb.Cluster/MemberAdd`.
pub const MEMBER_ADD: &str = "/etcdserverpb.Cluster/MemberAdd";
/// `/etcdserverpb.Cluster/MemberRemove`.
pub const MEMBER_REMOVE: &str = "/etcdserverpb.Cluster/MemberRemove";
/// `/etcdserverpb.Cluster/MemberPromote`.
pub const MEMBER_PROMOTE: &str = "/etcdserverpb.Cluster/MemberPromote";
/// `/etcdserverpb.Maintenance/Status`.
pub const STATUS: &str = "/etcdserverpb.Maintenance/Status";

/// `/etcdserverpb.Maintenance/Snapshot` (server streaming).
pub const SNAPSHOT: &str = "/etcdserverpb.Maintenance/Snapshot";

/// `ResponseHeader`: which member answered.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseHeader {
    /// `cluster_id = 1`.
    #[prost(uint64, tag = "1")]
    pub cluster_id: u64,
    /// `member_id = 2`.
    #[prost(uint64, tag = "2")]
    pub member_id: u64,
    /// `revision = 3`.
    #[prost(int64, tag = "3")]
    pub revision: i64,
    /// `raft_term = 4`.
    #[prost(uint64, tag = "4")]
    pub raft_term: u64,
}

/// `Member`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Member {
    /// `ID = 1`.
    #[prost(uint64, tag = "1")]
    pub id: u64,
    /// `name = 2`: empty until the member has started.
    #[prost(string, tag = "2")]
    pub name: String,
    /// `peerURLs = 3`.
    #[prost(string, repeated, tag = "3")]
    pub peer_urls: Vec<String>,
    /// `clientURLs = 4`: empty until the member has started.
    #[prost(string, repeated, tag = "4")]
    pub client_urls: Vec<String>,
    /// `isLearner = 5` (etcd 3.4+).
    #[prost(bool, tag = "5")]
    pub is_learner: bool,
}

/// `MemberListRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberListRequest {
    /// `linearizable = 1` (etcd 3.5+; 3.4 skips it).
    #[prost(bool, tag = "1")]
    pub linearizable: bool,
}

/// `MemberListResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberListResponse {
    /// `header = 1`.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// `members = 2`.
    #[prost(message, repeated, tag = "2")]
    pub members: Vec<Member>,
}

/// `MemberAddRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberAddRequest {
    /// `peerURLs = 1`.
    #[prost(string, repeated, tag = "1")]
    pub peer_urls: Vec<String>,
    /// `isLearner = 2`.
    #[prost(bool, tag = "2")]
    pub is_learner: bool,
}

/// `MemberAddResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberAddResponse {
    /// `header = 1`.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// `member = 2`: the member added.
    #[prost(message, optional, tag = "2")]
    pub member: Option<Member>,
    /// `members = 3`: every member after the add.
    #[prost(message, repeated, tag = "3")]
    pub members: Vec<Member>,
}

/// `MemberRemoveRequest` and `MemberPromoteRequest` (both carry only `ID = 1`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct MemberIdRequest {
    /// `ID = 1`.
    #[prost(uint64, tag = "1")]
    pub id: u64,
}

/// `MemberRemoveResponse` and `MemberPromoteResponse` (both: `header = 1`, `members = 2`).
pub type MemberChangeResponse = MemberListResponse;

/// `StatusRequest` (empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusRequest {}

/// `StatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusResponse {
    /// `header = 1`.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// `version = 2`: etcd's version.
    #[prost(string, tag = "2")]
    pub version: String,
    /// `dbSize = 3`.
    #[prost(int64, tag = "3")]
    pub db_size: i64,
    /// `leader = 4`: the leader this member knows (0 = none).
    #[prost(uint64, tag = "4")]
    pub leader: u64,
    /// `raftIndex = 5`.
    #[prost(uint64, tag = "5")]
    pub raft_index: u64,
    /// `raftTerm = 6`.
    #[prost(uint64, tag = "6")]
    pub raft_term: u64,
    /// `raftAppliedIndex = 7`.
    #[prost(uint64, tag = "7")]
    pub raft_applied_index: u64,
    /// `errors = 8`: alarms and health problems.
    #[prost(string, repeated, tag = "8")]
    pub errors: Vec<String>,
    /// `dbSizeInUse = 9`.
    #[prost(int64, tag = "9")]
    pub db_size_in_use: i64,
    /// `isLearner = 10`.
    #[prost(bool, tag = "10")]
    pub is_learner: bool,
}

/// `SnapshotRequest` (empty).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotRequest {}

/// `SnapshotResponse`: one chunk of the snapshot stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotResponse {
    /// `header = 1`: the first in the stream is the point in time of the snapshot (etcd 3.5+; 3.4 sends none).
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// `remaining_bytes = 2`: blob bytes still to come after this message.
    #[prost(uint64, tag = "2")]
    pub remaining_bytes: u64,
    /// `blob = 3`: the next chunk.
    #[prost(bytes = "vec", tag = "3")]
    pub blob: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn member_add_request_encodes_with_rpc_proto_field_numbers() {
        let r = MemberAddRequest { peer_urls: vec!["https://a:2380".into()], is_learner: true };
        // field 1, wire type 2 (0x0a), length 14, the URL; field 2, varint (0x10), 1
        let mut want = vec![0x0a, 14];
        want.extend_from_slice(b"https://a:2380");
        want.extend_from_slice(&[0x10, 1]);
        assert_eq!(r.encode_to_vec(), want);
    }

    #[test]
    fn snapshot_response_decodes_with_rpc_proto_field_numbers() {
        // header {revision 7} (field 1), remaining_bytes 5 (field 2 varint), blob "ab" (field 3 bytes)
        let b = [0x0a, 2, 0x18, 7, 0x10, 5, 0x1a, 2, b'a', b'b'];
        let r = SnapshotResponse::decode(b.as_slice()).expect("decodes");
        assert_eq!(r.header.map(|h| h.revision), Some(7));
        assert_eq!((r.remaining_bytes, r.blob.as_slice()), (5, b"ab".as_slice()));
    }

    #[test]
    fn member_decodes_with_rpc_proto_field_numbers() {
        // ID 0x1234 (field 1 varint), name "cp1" (field 2), peer URL (3), client URL (4), learner (5)
        let mut b = vec![0x08, 0xb4, 0x24, 0x12, 3];
        b.extend_from_slice(b"cp1");
        b.extend_from_slice(&[0x1a, 1, b'p', 0x22, 1, b'c', 0x28, 1]);
        let m = Member::decode(b.as_slice()).expect("decodes");
        assert_eq!(
            m,
            Member {
                id: 0x1234,
                name: "cp1".into(),
                peer_urls: vec!["p".into()],
                client_urls: vec!["c".into()],
                is_learner: true
            }
        );
    }
}
