//! The proxy's data path: both directions of a proxied connection copied by the kernel. On Linux each direction
//! moves bytes socket → pipe → socket with splice(2), as HAProxy does, so the proxy never copies the (TLS)
//! payload through user space: the pages the sender's kernel filled are handed on by reference. Elsewhere, or
//! when no pipe can be had (out of file descriptors), it falls back to tokio's user-space copy with 64 KiB
//! buffers.
//!
//! Semantics are those of `tokio::io::copy_bidirectional`: an end of stream on one side shuts down the write
//! half of the other (half-close passes through), the copy ends when both directions have ended, and the first
//! error ends it.

use std::io;

use tokio::net::TcpStream;

/// Buffer per direction of the user-space fallback (tokio's default of 8 KiB costs throughput on bulk reads).
const COPY_BUFFER: usize = 64 << 10;

/// Copies both ways between `a` and `b` until both directions ended or one failed.
pub async fn bidirectional(a: &mut TcpStream, b: &mut TcpStream) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if let (Ok(ab), Ok(ba)) = (linux::Pipe::new(), linux::Pipe::new()) {
        return linux::bidirectional(a, b, &ab, &ba).await;
    }
    tokio::io::copy_bidirectional_with_sizes(a, b, COPY_BUFFER, COPY_BUFFER).await.map(|_| ())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};

    use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};
    use nix::sys::socket::{Shutdown, shutdown};
    use tokio::io::Interest;
    use tokio::net::TcpStream;

    /// What one splice call may move at most, and the pipe's capacity: 256 KiB lets one call carry a whole
    /// burst of TLS records (the kernel's default pipe of 64 KiB needs four calls per 256 KiB).
    const PIPE_SIZE: usize = 256 << 10;

    /// A non-blocking pipe, the kernel-side buffer of one direction.
    pub struct Pipe {
        read: OwnedFd,
        write: OwnedFd,
    }

    impl Pipe {
        pub fn new() -> io::Result<Pipe> {
            let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
            // a smaller pipe only means more calls: a refusal (a lowered pipe-max-size) is not an error
            let _ = fcntl(&write, FcntlArg::F_SETPIPE_SZ(PIPE_SIZE as i32));
            Ok(Pipe { read, write })
        }
    }

    /// The two directions at once; the first error ends both.
    pub async fn bidirectional(a: &TcpStream, b: &TcpStream, ab: &Pipe, ba: &Pipe) -> io::Result<()> {
        tokio::try_join!(one_way(a, b, ab), one_way(b, a, ba)).map(|_| ())
    }

    fn flags() -> SpliceFFlags {
        SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
    }

    /// Moves `from` → `pipe` → `to` until `from` ends, then shuts down `to`'s write half. The pipe is empty
    /// whenever `from` is read, so a would-block there means `from` has nothing; and it holds data whenever `to`
    /// is written, so a would-block there means `to`'s send buffer is full: tokio's readiness stays exact.
    async fn one_way(from: &TcpStream, to: &TcpStream, pipe: &Pipe) -> io::Result<u64> {
        let mut total = 0u64;
        loop {
            let n = from
                .async_io(Interest::READABLE, || {
                    splice(from.as_fd(), None, pipe.write.as_fd(), None, PIPE_SIZE, flags()).map_err(io::Error::from)
                })
                .await?;
            if n == 0 {
                // end of stream: pass the half-close on (the peer may already be gone: nothing to tell then)
                match shutdown(to.as_raw_fd(), Shutdown::Write) {
                    Ok(()) | Err(nix::errno::Errno::ENOTCONN) => return Ok(total),
                    Err(e) => return Err(e.into()),
                }
            }
            let mut left = n;
            while left > 0 {
                left -= to
                    .async_io(Interest::WRITABLE, || {
                        splice(pipe.read.as_fd(), None, to.as_fd(), None, left, flags()).map_err(io::Error::from)
                    })
                    .await?;
            }
            total += n as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A pair of connected sockets on loopback.
    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        (c, l.accept().await.unwrap().0)
    }

    #[tokio::test]
    async fn copies_both_ways_and_passes_half_close_on() {
        // client ⇄ (p1 | proxy | p2) ⇄ server
        let (mut client, mut p1) = pair().await;
        let (mut p2, mut server) = pair().await;
        let proxy = tokio::spawn(async move { bidirectional(&mut p1, &mut p2).await });
        let up: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let up2 = up.clone();
        let server_side = tokio::spawn(async move {
            let mut got = Vec::new();
            server.read_to_end(&mut got).await.unwrap(); // ends only if the client's FIN came through
            assert_eq!(got, up2);
            server.write_all(&got[..1_000_000]).await.unwrap();
            server.shutdown().await.unwrap();
        });
        client.write_all(&up).await.unwrap();
        client.shutdown().await.unwrap();
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, up[..1_000_000]);
        server_side.await.unwrap();
        proxy.await.unwrap().unwrap();
    }
}
