//! `Port-<n>` for the node-local API server proxy (default `Port-7445`), in kubeadm's Port check shape
//! (`[ERROR Port-7445]: Port 7445 is in use`, ignorable with `--ignore-preflight-errors Port-7445`): run by init
//! with the other ports when the proxy is enabled, by join once discovery has told it the cluster's setting
//! (before anything is written), and by `kbinit api-server-proxy install`.
//!
//! The proxy listens on 127.0.0.1, so that is the address tried (a listener on another address of the node does
//! not stop it; one on 127.0.0.1 or the wildcard does). On a re-run the port is held by the proxy an earlier
//! init, join or install started: it is recognised, as init's re-run survey recognises kbinit's static Pods, by what
//! supervises it, kbinit's own unit ([`node::is_own_unit`]) for this same port, and reported as reused.

use std::net::{Ipv4Addr, TcpListener};

use kbinit_phases::api_server_proxy::node;

use super::finding::{Finding, report};
use super::machine;
use crate::host::Host;
use crate::output::Output;

/// `true` when the proxy could not listen on 127.0.0.1:`port` now.
pub fn port_in_use(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err()
}

/// The proxy's port check: a finding when someone else holds the port, a note when this node's own proxy from
/// an earlier run does.
pub fn check(host: &Host, port: u16, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
    if !port_in_use(port) {
        return;
    }
    let own = host.read(node::UNIT_PATH).ok().and_then(|b| String::from_utf8(b).ok());
    if own.is_some_and(|text| node::is_own_unit(&text, port)) {
        notes.push(format!(
            "[preflight] Port {port} is in use by the API server proxy, whose unit {} is already present from an \
             earlier run; reusing",
            node::UNIT_PATH
        ));
    } else {
        findings.extend(machine::port(port));
    }
}

/// The check on its own (join after discovery, `api-server-proxy install`): notes printed, an error nobody
/// ignored fails with kubeadm's text and exit code 2.
pub fn run(host: &Host, port: u16, ignore: &[String], out: &Output) -> anyhow::Result<()> {
    let (mut findings, mut notes) = (Vec::new(), Vec::new());
    check(host, port, &mut findings, &mut notes);
    notes.iter().for_each(|n| out.say(n));
    report(&findings, ignore, out)
}
