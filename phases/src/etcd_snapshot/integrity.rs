//! The integrity check of an etcd v3 snapshot: etcd appends the sha256 of the database to the stream it sends
//! (`Maintenance.Snapshot`), so the last 32 bytes of a complete snapshot are the sha256 of everything before
//! them; `etcdctl snapshot restore` checks the same. [`Verifier`] is fed the bytes as they arrive and keeps the
//! last 32 back, so the check needs one pass and no second read; it also hashes the whole file for the record.

use aws_lc_rs::digest::{Context, SHA256};

use crate::Error;

/// The length of the appended hash.
pub const HASH_LEN: usize = 32;

/// A streaming check of a snapshot (see the module documentation).
pub struct Verifier {
    body: Context,
    whole: Context,
    tail: Vec<u8>,
    len: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

/// What a checked snapshot is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// Its size in bytes.
    pub size: u64,
    /// sha256 of the whole file (hex).
    pub sha256: String,
}

impl Verifier {
    /// An empty verifier.
    pub fn new() -> Verifier {
        Verifier { body: Context::new(&SHA256), whole: Context::new(&SHA256), tail: Vec::new(), len: 0 }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.whole.update(bytes);
        self.len += bytes.len() as u64;
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > HASH_LEN {
            let cut = self.tail.len() - HASH_LEN;
            self.body.update(&self.tail[..cut]);
            self.tail.drain(..cut);
        }
    }

    /// Checks the appended hash; `what` names the snapshot in the error.
    pub fn finish(self, what: &str) -> Result<Checked, Error> {
        if self.len <= HASH_LEN as u64 {
            return Err(Error::Conflict(format!(
                "{what} is not an etcd snapshot: {} bytes, shorter than its integrity hash",
                self.len
            )));
        }
        let body = self.body.finish();
        if body.as_ref() != self.tail.as_slice() {
            return Err(Error::Conflict(format!(
                "{what} fails etcd's integrity check: its last {HASH_LEN} bytes are not the sha256 of the rest \
                 (cut short or corrupted)"
            )));
        }
        Ok(Checked { size: self.len, sha256: hex::encode(self.whole.finish().as_ref()) })
    }
}

/// Checks a whole snapshot held in memory (tests and small files).
pub fn check(bytes: &[u8], what: &str) -> Result<Checked, Error> {
    let mut v = Verifier::new();
    v.update(bytes);
    v.finish(what)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn snapshot(db: &[u8]) -> Vec<u8> {
        let mut s = db.to_vec();
        s.extend_from_slice(aws_lc_rs::digest::digest(&SHA256, db).as_ref());
        s
    }

    #[test]
    fn a_whole_snapshot_passes_in_any_chunking() {
        let s = snapshot(&(0..5000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let want = check(&s, "s").unwrap();
        assert_eq!(want.size, 5032);
        assert_eq!(want.sha256, hex::encode(aws_lc_rs::digest::digest(&SHA256, &s).as_ref()));
        for chunk in [1, 7, 31, 32, 33, 4096, 10_000] {
            let mut v = Verifier::new();
            s.chunks(chunk).for_each(|c| v.update(c));
            assert_eq!(v.finish("s").unwrap(), want, "chunks of {chunk}");
        }
    }

    #[test]
    fn cut_short_flipped_or_tiny_snapshots_fail() {
        let s = snapshot(b"some bolt database pages");
        let e = check(&s[..s.len() - 1], "cut.db").unwrap_err().to_string();
        assert!(e.contains("cut.db fails etcd's integrity check"), "{e}");
        let mut flipped = s.clone();
        flipped[3] ^= 1;
        assert!(check(&flipped, "f").is_err());
        let e = check(&s[..20], "tiny.db").unwrap_err().to_string();
        assert!(e.contains("tiny.db is not an etcd snapshot: 20 bytes"), "{e}");
    }
}
