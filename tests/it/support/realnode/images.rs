//! The node's container images, made without a registry: for each image an OCI layout (one uncompressed layer
//! tar, a config, a manifest, an `index.json` whose entry carries `io.containerd.image.name`) packed as a tar
//! that `ctr -n k8s.io images import` takes. Names and tags are the ones `kbinit config images list` gives for
//! the release, so the manifests kbinit writes find them:
//!
//! - kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy: the binary of `../shared/k8s/<release>`
//!   in /usr/local/bin; kube-proxy also carries the host's iptables (nft backend: `xtables-nft-multi`, its
//!   extensions) and `conntrack` with their libraries;
//! - etcd: Debian's etcd 3.4 with its glibc, behind `etcd-front.c` (renames two 3.5 flags, answers the
//!   manifest's /livez and /readyz probes from 3.4's /health);
//! - pause: `pause.c`, built with `gcc -static`.
//!
//! Built images are cached under the target directory, keyed by the sha256 of everything that goes into them.

use std::path::{Path, PathBuf};
use std::process::Command;

const PAUSE_C: &str = include_str!("pause.c");
const FRONT_C: &str = include_str!("etcd-front.c");
const PATH_ENV: &str = "PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One image: its full reference and the tar to import.
pub struct Image {
    /// `registry.k8s.io/kube-apiserver:v1.33.3`
    pub reference: String,
    /// The OCI layout tar.
    pub tar: PathBuf,
}

/// The images a node of `release` needs (building what is not cached yet), given kbinit's image list.
pub fn all(release: &str) -> Vec<Image> {
    let cache = super::tmp().join("images");
    std::fs::create_dir_all(&cache).unwrap();
    let list =
        super::run_ok(env!("CARGO_BIN_EXE_kbinit"), &["config", "images", "list", "--kubernetes-version", release]);
    let refs: Vec<&str> = list.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let find = |name: &str| {
        refs.iter()
            .find(|r| r.rsplit('/').next().is_some_and(|last| last.split(':').next() == Some(name)))
            .unwrap_or_else(|| panic!("kbinit config images list names no {name} image: {list}"))
            .to_string()
    };
    let mut out = Vec::new();
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        let bin = super::k8s_binary(release, c);
        out.push(build(&cache, &find(c), &[(bin, format!("usr/local/bin/{c}"))], &[], None));
    }
    out.push(kube_proxy(&cache, &find("kube-proxy"), release));
    out.push(etcd(&cache, &find("etcd")));
    let pause = compile(&cache, "pause", PAUSE_C);
    out.push(build(&cache, &find("pause"), &[(pause, "pause".into())], &[], Some("/pause")));
    out
}

fn kube_proxy(cache: &Path, reference: &str, release: &str) -> Image {
    super::require_tool("xtables-nft-multi");
    super::require_tool("conntrack");
    let xt = PathBuf::from("/usr/sbin/xtables-nft-multi");
    let conntrack = PathBuf::from("/usr/sbin/conntrack");
    let mut files = vec![
        (super::k8s_binary(release, "kube-proxy"), "usr/local/bin/kube-proxy".to_string()),
        (xt.clone(), "usr/sbin/xtables-nft-multi".into()),
        (conntrack.clone(), "usr/sbin/conntrack".into()),
    ];
    let ext = Path::new("/usr/lib/x86_64-linux-gnu/xtables");
    let mut elves = vec![xt, conntrack];
    for e in std::fs::read_dir(ext).unwrap_or_else(|e| panic!("{}: {e} (iptables is needed)", ext.display())) {
        let p = e.unwrap().path();
        files.push((p.clone(), p.strip_prefix("/").unwrap().display().to_string()));
        elves.push(p);
    }
    files.extend(libraries(&elves));
    let links: Vec<(String, String)> =
        ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]
            .iter()
            .map(|n| (format!("usr/sbin/{n}"), "xtables-nft-multi".to_string()))
            .collect();
    build(cache, reference, &files, &links, None)
}

fn etcd(cache: &Path, reference: &str) -> Image {
    super::require_tool("etcd");
    let etcd = PathBuf::from(super::run_ok("sh", &["-c", "command -v etcd"]).trim());
    let front = compile(cache, "etcd-front", FRONT_C);
    let mut files =
        vec![(front, "usr/local/bin/etcd".to_string()), (etcd.clone(), "usr/local/bin/etcd-3.4".to_string())];
    files.extend(libraries(&[etcd]));
    build(cache, reference, &files, &[], None)
}

/// The shared libraries (and the loader) `ldd` lists for these ELF files, at their own paths.
fn libraries(elves: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = Vec::new();
    for elf in elves {
        let o = Command::new("ldd").arg(elf).output().unwrap();
        for line in String::from_utf8_lossy(&o.stdout).lines() {
            let path = match line.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next().unwrap_or_default(),
                None => line.split_whitespace().next().unwrap_or_default(),
            };
            if path.starts_with('/') && !out.iter().any(|(p, _)| p.as_path() == Path::new(path)) {
                out.push((PathBuf::from(path), path.trim_start_matches('/').to_string()));
            }
        }
    }
    out
}

/// A static binary from C source, cached by the source's checksum.
fn compile(cache: &Path, name: &str, source: &str) -> PathBuf {
    let key = sha256_bytes(source.as_bytes());
    let bin = cache.join(format!("{name}-{}", &key[..16]));
    if bin.is_file() {
        return bin;
    }
    super::require_tool("gcc");
    let src = cache.join(format!("{name}-{}.c", &key[..16]));
    std::fs::write(&src, source).unwrap();
    let partial = cache.join(format!(".{name}.partial"));
    let o = Command::new("gcc").args(["-static", "-O2", "-o"]).arg(&partial).arg(&src).output().unwrap();
    assert!(o.status.success(), "gcc -static {}: {}", src.display(), String::from_utf8_lossy(&o.stderr));
    std::fs::rename(&partial, &bin).unwrap();
    bin
}

/// An image of `files` (host file → path in the image) and `links` (path → symlink target), cached.
fn build(
    cache: &Path,
    reference: &str,
    files: &[(PathBuf, String)],
    links: &[(String, String)],
    entrypoint: Option<&str>,
) -> Image {
    let mut key = format!("v1 {reference} {entrypoint:?} {links:?}\n");
    for (src, dst) in files {
        key.push_str(&format!("{dst} {}\n", sha256_file(src)));
    }
    let key = sha256_bytes(key.as_bytes());
    let tar = cache.join(format!("{}-{}.tar", reference.replace(['/', ':'], "_"), &key[..16]));
    if tar.is_file() {
        return Image { reference: reference.into(), tar };
    }
    let work = cache.join(format!("work-{}", &key[..16]));
    let _ = std::fs::remove_dir_all(&work);
    let rootfs = work.join("rootfs");
    for d in ["etc", "tmp", "proc", "sys", "dev", "run", "var"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    for (src, dst) in files {
        let to = rootfs.join(dst);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src, &to).unwrap_or_else(|e| panic!("copying {} into {reference}: {e}", src.display()));
    }
    for (at, target) in links {
        std::os::unix::fs::symlink(target, rootfs.join(at)).unwrap();
    }
    let layout = work.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let layer = work.join("layer.tar");
    super::run_ok(
        "tar",
        &[
            "--numeric-owner",
            "--owner=0",
            "--group=0",
            "-C",
            rootfs.to_str().unwrap(),
            "-cf",
            layer.to_str().unwrap(),
            ".",
        ],
    );
    let layer_sum = sha256_file(&layer);
    let layer_size = std::fs::metadata(&layer).unwrap().len();
    std::fs::rename(&layer, blobs.join(&layer_sum)).unwrap();
    let mut config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": { "Env": [PATH_ENV] },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_sum}")] },
    });
    if let Some(e) = entrypoint {
        config["config"]["Entrypoint"] = serde_json::json!([e]);
    }
    let (config_sum, config_size) = blob(&blobs, &config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_sum}"), "size": config_size },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_sum}"), "size": layer_size }],
    });
    let (manifest_sum, manifest_size) = blob(&blobs, &manifest);
    let tag = reference.rsplit_once(':').map(|(_, t)| t).unwrap_or("latest");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{ "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_sum}"), "size": manifest_size,
            "annotations": { "io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag } }],
    });
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(layout.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let partial = cache.join(format!(".{key}.partial"));
    super::run_ok(
        "tar",
        &["-C", layout.to_str().unwrap(), "-cf", partial.to_str().unwrap(), "oci-layout", "index.json", "blobs"],
    );
    std::fs::rename(&partial, &tar).unwrap();
    let _ = std::fs::remove_dir_all(&work);
    Image { reference: reference.into(), tar }
}

/// Writes a JSON blob under its digest; (hex digest, size).
fn blob(blobs: &Path, value: &serde_json::Value) -> (String, u64) {
    let bytes = serde_json::to_vec(value).unwrap();
    let sum = sha256_bytes(&bytes);
    std::fs::write(blobs.join(&sum), &bytes).unwrap();
    (sum, bytes.len() as u64)
}

fn sha256_file(path: &Path) -> String {
    let out = super::run_ok("sha256sum", &[path.to_str().unwrap()]);
    out.split_whitespace().next().unwrap_or_default().to_string()
}

fn sha256_bytes(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or_default().to_string()
}
