//! Real nodes: the real kubelet and containerd, in network namespaces, running the static Pods kbinit (or
//! kubeadm) writes. Self-contained (std, serde_json and kbinit's API client), so that the `realnode` bench
//! includes it as it is.
//!
//! A [`Site`] is one test's world: a LAN (a bridge in a namespace of its own, so the host's interfaces stay
//! untouched), the node images ([`images`]), the kubelet's global sysctls saved (and restored on drop), and a
//! process-wide lock (two sites would share those sysctls and the cgroup hierarchy). A [`node::RealNode`] on
//! it is a network namespace on that bridge plus a holder process owning the node's mount and UTS namespaces,
//! in which containerd, the supervised kubelet and every command of the test run.

pub mod configs;
pub mod images;
pub mod node;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// The sysctls the kubelet sets at start (global: saved before a site, restored after it).
const SYSCTLS: [&str; 6] = [
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
];

/// The release of the node's kubelet and control-plane images.
pub const RELEASE: &str = "v1.33.3";

static ONE_SITE: Mutex<()> = Mutex::new(());

/// One test's world of real nodes; drop it after its nodes.
pub struct Site {
    /// A short tag for names (namespaces, cgroups).
    pub tag: String,
    /// The namespace holding the bridge `br0`.
    pub lan: String,
    /// The bridge's address (the nodes' default gateway).
    pub gateway: String,
    images: Vec<images::Image>,
    sysctls: Vec<(String, String)>,
    next_port: std::sync::atomic::AtomicUsize,
    _one: MutexGuard<'static, ()>,
}

impl Site {
    /// A LAN `<prefix>.0/24` whose bridge is `<prefix>.254`, with the images of [`RELEASE`] built.
    pub fn create(tag: &str, prefix: &str) -> Site {
        let one = ONE_SITE.lock().unwrap_or_else(|e| e.into_inner());
        for tool in ["ip", "nsenter", "unshare", "containerd", "ctr", "runc", "tar", "sha256sum", "ldd"] {
            require_tool(tool);
        }
        assert!(
            std::path::Path::new("/usr/lib/cni/bridge").is_file(),
            "/usr/lib/cni/bridge is missing: the real node needs containernetworking-plugins"
        );
        let sysctls = SYSCTLS
            .iter()
            .map(|s| (s.to_string(), std::fs::read_to_string(format!("/proc/sys/{s}")).unwrap_or_default()))
            .collect();
        let images = images::all(RELEASE);
        let lan = format!("kb-rn-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &lan]).output();
        ip(&["netns", "add", &lan]);
        ip(&["-n", &lan, "link", "set", "lo", "up"]);
        ip(&["-n", &lan, "link", "add", "br0", "type", "bridge"]);
        let gateway = format!("{prefix}.254");
        ip(&["-n", &lan, "addr", "add", &format!("{gateway}/24"), "dev", "br0"]);
        ip(&["-n", &lan, "link", "set", "br0", "up"]);
        Site {
            tag: tag.into(),
            lan,
            gateway,
            images,
            sysctls,
            next_port: std::sync::atomic::AtomicUsize::new(0),
            _one: one,
        }
    }

    /// The images every node imports.
    pub fn images(&self) -> &[images::Image] {
        &self.images
    }

    /// Connects namespace `netns` to the bridge with `address/24` on its `eth0`, default route via the bridge.
    pub fn attach(&self, netns: &str, address: &str) {
        let n = self.next_port.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = format!("v{n}");
        ip(&["-n", &self.lan, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", netns]);
        ip(&["-n", &self.lan, "link", "set", &port, "master", "br0"]);
        ip(&["-n", &self.lan, "link", "set", &port, "up"]);
        ip(&["-n", netns, "link", "set", "lo", "up"]);
        ip(&["-n", netns, "addr", "add", &format!("{address}/24"), "dev", "eth0"]);
        ip(&["-n", netns, "link", "set", "eth0", "up"]);
        ip(&["-n", netns, "route", "add", "default", "via", &self.gateway]);
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.lan]).output();
        for (name, value) in &self.sysctls {
            if !value.is_empty() {
                let _ = std::fs::write(format!("/proc/sys/{name}"), value);
            }
        }
    }
}

/// The fixture's scratch directory under the target directory.
pub fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realnode")
}

/// `../shared` (beside the repository, or `$KBINIT_SHARED`).
fn shared() -> PathBuf {
    std::env::var_os("KBINIT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// The unpacked, checksum-verified binary `name` of `release` from `../shared/k8s` (the cache layout of the
/// realk8s harness: `<target tmp>/realk8s/<sha256>/<name>`, so both share one unpacking).
pub fn k8s_binary(release: &str, name: &str) -> PathBuf {
    static UNPACK: Mutex<()> = Mutex::new(());
    let k8s = shared().join("k8s");
    let sums = std::fs::read_to_string(k8s.join("SHA256SUMS"))
        .unwrap_or_else(|e| panic!("{}: {e} (the real binaries of ../shared/k8s are needed)", k8s.display()));
    let key = format!("{release}/{name}");
    let sum = sums
        .lines()
        .find_map(|l| l.split_once("  ").filter(|(_, f)| *f == key).map(|(s, _)| s.to_string()))
        .unwrap_or_else(|| panic!("{key} is not in {}/SHA256SUMS", k8s.display()));
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realk8s").join(&sum);
    let bin = dir.join(name);
    let _guard = UNPACK.lock().unwrap_or_else(|e| e.into_inner());
    if bin.is_file() {
        return bin;
    }
    require_tool("xz");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = k8s.join(format!("{key}.xz"));
    let partial = dir.join(format!(".{name}.partial"));
    let out = std::fs::File::create(&partial).unwrap();
    let status = Command::new("xz").arg("-dc").arg(&archive).stdout(out).status().unwrap();
    assert!(status.success(), "xz -dc {} failed", archive.display());
    let got = run_ok("sha256sum", &[partial.to_str().unwrap()]);
    assert_eq!(
        got.split_whitespace().next().unwrap_or_default(),
        sum,
        "{} does not match SHA256SUMS",
        archive.display()
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&partial, &bin).unwrap();
    bin
}

/// Runs a program and returns its output; panics with stderr if it fails.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let o = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("running {program}: {e}"));
    assert!(o.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Fails naming the tool (and what installs it: .ci/run) unless it is on PATH.
pub fn require_tool(tool: &str) {
    let found =
        Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is not installed: the real-node tests need it (.ci/run installs every tool the tests use)");
}

fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap();
    assert!(o.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}
