//! A private LAN for test nodes: a namespace holding a bridge (and the load balancer's address), one veth per
//! node with the node's address on its `eth0`, and a plain TCP forwarder as the load balancer in front of the
//! control-plane nodes. Traffic stays between the test's own namespaces.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::netns::Netns;

/// The LAN; its namespace (and every veth in it) goes away on drop.
pub struct Lan {
    /// The namespace with the bridge.
    pub ns: Netns,
    next: AtomicUsize,
}

fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap();
    assert!(o.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

impl Lan {
    /// A bridge `br0` with `gateway/24` (the load balancer's address) in a namespace of its own.
    pub fn create(tag: &str, gateway: &str) -> Lan {
        let ns = Netns::create(format!("kb-{tag}-lan-{}", std::process::id()), &[]);
        ip(&["-n", &ns.name, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &ns.name, "addr", "add", &format!("{gateway}/24"), "dev", "br0"]);
        ip(&["-n", &ns.name, "link", "set", "br0", "up"]);
        Lan { ns, next: AtomicUsize::new(0) }
    }

    /// Connects a node: a veth pair, `eth0` with `address/24` in the node's namespace, the other end on the bridge.
    pub fn attach(&self, node: &Netns, address: &str) {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let port = format!("v{n}");
        ip(&["-n", &self.ns.name, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &node.name]);
        ip(&["-n", &self.ns.name, "link", "set", &port, "master", "br0"]);
        ip(&["-n", &self.ns.name, "link", "set", &port, "up"]);
        ip(&["-n", &node.name, "addr", "add", &format!("{address}/24"), "dev", "eth0"]);
        ip(&["-n", &node.name, "link", "set", "eth0", "up"]);
    }

    /// A TCP load balancer on `listen` (an address of the bridge) spreading connections over `backends`
    /// round-robin, skipping backends that refuse.
    pub fn balancer(&self, listen: SocketAddr, backends: Vec<SocketAddr>) -> Balancer {
        Balancer::start(&self.ns.name, listen, backends)
    }
}

/// The running forwarder; stops accepting on drop.
pub struct Balancer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Balancer {
    fn start(netns: &str, listen: SocketAddr, backends: Vec<SocketAddr>) -> Balancer {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let path = format!("/run/netns/{netns}");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            // SAFETY: setns(2) moves only this thread (and the threads it spawns) into the LAN namespace.
            assert_eq!(unsafe { nix::libc::setns(ns.as_raw_fd(), nix::libc::CLONE_NEWNET) }, 0);
            let listener = TcpListener::bind(listen).unwrap();
            listener.set_nonblocking(true).unwrap();
            ready_tx.send(()).unwrap();
            let next = AtomicUsize::new(0);
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let start = next.fetch_add(1, Ordering::Relaxed);
                        let order: Vec<SocketAddr> =
                            (0..backends.len()).map(|i| backends[(start + i) % backends.len()]).collect();
                        std::thread::spawn(move || forward(client, &order));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        Balancer { stop, thread: Some(thread) }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Pipes one client connection to the first backend that accepts.
fn forward(client: TcpStream, backends: &[SocketAddr]) {
    let Some(server) = backends.iter().find_map(|b| TcpStream::connect_timeout(b, Duration::from_secs(1)).ok()) else {
        return; // no backend up: the client sees the connection closed, as with a real LB
    };
    client.set_nonblocking(false).ok();
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        })
    };
    let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let a = pipe(client, server);
    let b = pipe(s2, c2);
    let _ = a.join();
    let _ = b.join();
}
