//! `kbinit api-server-proxy run` and `status` as processes: the proxy logs its start and its backends'
//! health on stderr, `status` lists them, and a second proxy on the same port fails with a clear message;
//! `reset` removes the unit and the state (its `--dry-run` only says it would).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::Node;

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_then_status_then_a_second_run_on_the_same_port() {
    let node = Node::new();
    let live = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let live_addr = live.local_addr().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let root = node.root().display().to_string();
    let args = ["api-server-proxy", "run", "--port", &port, "--server", &live_addr, "--server", "127.0.0.1:1"];
    let args: Vec<&str> = args.iter().copied().chain(["--no-discovery", "--root", &root]).collect();
    let _proxy = Killed(
        Command::new(env!("CARGO_BIN_EXE_kbinit"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    let text = loop {
        let run = node.kbinit(&["api-server-proxy", "status"]);
        if run.code == 0 && run.stdout.contains("unhealthy") && run.stdout.contains(" healthy") {
            break run.stdout;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "status never showed both backends: {}{}",
            run.stdout,
            run.stderr
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(text.contains(&format!("listening on 127.0.0.1:{port}")), "{text}");
    let line = |addr: &str| text.lines().find(|l| l.starts_with(addr)).unwrap_or_default().to_string();
    assert!(line(&live_addr).contains(" healthy"), "{text}");
    assert!(line("127.0.0.1:1 ").contains("unhealthy") && line("127.0.0.1:1 ").contains("refused"), "{text}");
    assert!(node.path("/var/lib/kbinit/api-server-proxy/endpoints.json").is_file(), "the seeds are cached");

    let second = node.kbinit(&args[..args.len() - 2]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(second.stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")), "{}", second.stderr);
    assert!(second.stderr.contains("already running"), "{}", second.stderr);
}

#[test]
fn status_without_a_proxy_says_so() {
    let node = Node::new();
    let run = node.kbinit(&["api-server-proxy", "status"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("the api-server-proxy does not run on this node"), "{}", run.stderr);
}

#[test]
fn reset_removes_the_proxy_and_its_dry_run_only_says_so() {
    let node = Node::new();
    node.put("/etc/systemd/system/kbinit-api-server-proxy.service", b"[Service]\nExecStart=/bin/true\n");
    node.put("/var/lib/kbinit/api-server-proxy/endpoints.json", b"{}");
    let dry = node.kbinit(&["reset", "--force", "--dry-run"]).ok();
    assert!(dry.stdout.contains("Would stop kbinit-api-server-proxy.service and delete"), "{}", dry.stdout);
    assert!(node.path("/etc/systemd/system/kbinit-api-server-proxy.service").exists());
    let run = node.kbinit(&["reset", "--force"]).ok();
    assert!(
        run.stdout.contains("[api-server-proxy] Removing /etc/systemd/system/kbinit-api-server-proxy.service"),
        "{}",
        run.stdout
    );
    assert!(!node.path("/etc/systemd/system/kbinit-api-server-proxy.service").exists());
    assert!(!node.path("/var/lib/kbinit/api-server-proxy").exists());
    // a node without the proxy: reset says nothing about it
    let again = node.kbinit(&["reset", "--force"]).ok();
    assert!(!again.stdout.contains("api-server-proxy"), "{}", again.stdout);
}
