//! A fake kube-apiserver v1.28.7 for tests (never part of kbinit): HTTPS with client certificates, bootstrap
//! tokens and anonymous access; Node+RBAC authorization; REST for the kinds kubeadm touches; the kube-controller-
//! manager loops kubeadm depends on. Its answers are held to a recorded real server by `fakeapi_conformance`.
//! The real components of ../shared/k8s (`support::realk8s`) come first; this fake stays for what a real server
//! cannot be made to show on demand (a 5xx burst, a conflict or a tampered object at a chosen moment, an expiry on
//! a fake clock, a minor with no real binary), and each test using it says why in a `//! fake-api:` line.
//!
//! ```ignore
//! let api = FakeApi::new();                       // namespaces + default RBAC already there
//! let listener = api.serve("127.0.0.1:0".parse()?, ServingTls { cert_pem, key_pem, client_ca_pem });
//! api.insert(json!({"apiVersion": "v1", "kind": "Secret", …}));   // seed as an admin would
//! api.reconcile_once();                           // or api.start_controllers(ca, key) for a timer
//! assert!(api.object("/api/v1/namespaces/kube-public/configmaps/cluster-info").is_some());
//! assert!(api.requests().iter().all(|r| r.status < 500));
//! ```
//!
//! Several listeners (also in other network namespaces: `serve_in_netns`) share one store, as API servers share
//! etcd. What is simplified is said in each module's header; the main points: watch by listing again (see `watch`), no managedFields or
//! apply conflicts, strategic merge = JSON merge patch, garbage collection and namespace deletion happen at once,
//! a fixed-rule Node authorizer, and only the default ClusterRoles kubeadm relies on.
//!
//! Newer API servers: the end-to-end tests also run kbinit at the newest version it sets up (v1.37) against
//! this v1.28.7 fake. Nothing kbinit relies on answers differently there: every call init, join and reset make
//! (core/v1 ConfigMaps, Secrets, Nodes and their merge patches, ServiceAccounts, rbac/v1, apps/v1 Deployments and
//! DaemonSets, certificates/v1 CSRs, `/livez` `/readyz` `/healthz`) is a GA API unchanged through
//! 1.37. What 1.37 adds on kbinit's side is one more ClusterRoleBinding (`kubeadm:kubelet-api-admin` → the
//! bootstrap ClusterRole `system:kubelet-api-admin`, which real servers carry since 1.10); the fake stores the
//! binding and does not need the role itself, as only the kubelet (absent here) would authorize with it.
//! kbinit never asks the server for its version (`/version`), so the fake's v1.28.7 identity does not matter.
//!
//! The pub API is for the tests of the phases that talk to an API server; items the conformance tests do not call
//! yet carry `#[allow(dead_code)]`.

mod authn;
mod authz;
mod controllers;
mod defaults;
mod handler;
mod jobs;
mod jws;
mod nonresource;
mod patch;
mod resources;
mod rest;
mod route;
mod selectors;
mod server;
mod status;
mod store;
pub mod testkit;
mod validate;
mod watch;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

pub use controllers::Controllers;
pub use server::{Listener, ServingTls};
pub use store::LoggedRequest;

#[allow(unused_imports)] // for tests that compare the shipped defaults
pub use defaults::{cluster_role_bindings, cluster_roles};
#[allow(unused_imports)] // kbinit's own JWS can be checked against this independent one
pub use jws::detached as detached_jws;

/// The fake API server: one store, any number of listeners.
#[derive(Clone)]
pub struct FakeApi {
    store: Arc<Mutex<store::Store>>,
}

impl FakeApi {
    /// A store holding what a fresh server holds: the four system namespaces and the default RBAC policy.
    pub fn new() -> FakeApi {
        let mut s = store::Store::default();
        defaults::seed(&mut s);
        FakeApi { store: Arc::new(Mutex::new(s)) }
    }

    fn lock(&self) -> MutexGuard<'_, store::Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves HTTPS on `addr` (port 0 = any) until the returned listener is dropped. A port still taken (the
    /// previous instance of a restarted static Pod, a preflight port check of the command under test) is tried
    /// again for up to 10 s, as the kubelet restarts a container that could not bind.
    pub fn serve(&self, addr: SocketAddr, tls: ServingTls) -> Listener {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let socket = loop {
            match std::net::TcpListener::bind(addr) {
                Ok(s) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => panic!("binding {addr}: {e}"),
            }
        };
        server::serve(self.store.clone(), socket, &tls)
    }

    /// Like `serve`, with the socket created inside network namespace `/run/netns/<netns_name>`.
    #[allow(dead_code)]
    pub fn serve_in_netns(&self, netns_name: &str, addr: SocketAddr, tls: ServingTls) -> Listener {
        let socket = server::bind_in_netns(netns_name, addr)
            .unwrap_or_else(|e| panic!("binding {addr} in netns {netns_name}: {e}"));
        server::serve(self.store.clone(), socket, &tls)
    }

    /// The object at an API path (`/api/v1/namespaces/kube-system/secrets/x`), as a GET would return it.
    pub fn object(&self, path: &str) -> Option<Value> {
        let info = route::request_info(&http::Method::GET, path);
        let r = resources::by_path(&info.group, &info.version, &info.resource)?;
        self.lock().get(r, &info.namespace, &info.name).cloned()
    }

    /// Every object under a collection path (`/api/v1/namespaces/kube-system/secrets`, `/api/v1/nodes`; a
    /// namespaced resource without a namespace lists all namespaces), with kind and apiVersion.
    pub fn objects(&self, collection_path: &str) -> Vec<Value> {
        let info = route::request_info(&http::Method::GET, collection_path);
        match resources::by_path(&info.group, &info.version, &info.resource) {
            Some(r) => self.lock().list(r, &info.namespace),
            None => panic!("the fake API server serves nothing at {collection_path}"),
        }
    }

    /// Creates an object as an admin's POST would (uid, resourceVersion, creationTimestamp, Secret `stringData`);
    /// panics if the real server would refuse it. Returns the stored object.
    pub fn insert(&self, obj: Value) -> Value {
        rest::insert(&mut self.lock(), obj)
    }

    /// Every request served so far, in order.
    /// Creates the object, or replaces the stored one of that name (keeping its uid), as a client's create-or-update
    /// would; for stand-ins that post the same object again (a kubelet's mirror Pod after a node was reset).
    pub fn upsert(&self, obj: Value) -> Value {
        let r = resources::by_kind(store::str_at(&obj, "/apiVersion"), store::str_at(&obj, "/kind"))
            .unwrap_or_else(|| panic!("the fake API server does not serve {}", obj["kind"]));
        let (ns, name) = (store::str_at(&obj, "/metadata/namespace"), store::str_at(&obj, "/metadata/name"));
        let mut store = self.lock();
        match store.get(r, ns, name).cloned() {
            Some(old) => {
                let mut new = obj.clone();
                new["metadata"]["uid"] = old["metadata"]["uid"].clone();
                new["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"].clone();
                store.put(r, new)
            }
            None => rest::insert(&mut store, obj),
        }
    }

    /// Changes a stored object in place behind every controller's back (no signer runs), as an attacker with
    /// access to etcd, or a test, would; bumps its resourceVersion.
    pub fn tamper(&self, path: &str, change: impl FnOnce(&mut Value)) {
        let info = route::request_info(&http::Method::GET, path);
        let r = resources::by_path(&info.group, &info.version, &info.resource)
            .unwrap_or_else(|| panic!("the fake API server serves nothing at {path}"));
        let mut store = self.lock();
        let mut obj = store.get(r, &info.namespace, &info.name).cloned().unwrap_or_else(|| panic!("no {path}"));
        change(&mut obj);
        store.put(r, obj);
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// Sets the CA the CSR signer issues from (kube-controller-manager's `--cluster-signing-*-file`).
    pub fn set_cluster_ca(&self, ca_cert_pem: &str, ca_key_pem: &str) {
        self.lock().ca = Some(store::SigningCa { cert_pem: ca_cert_pem.into(), key_pem: ca_key_pem.into() });
    }

    /// Runs every controller once, now (deterministic tests).
    pub fn reconcile_once(&self) {
        controllers::reconcile(&mut self.lock());
    }

    /// Sets the signing CA and runs the controllers every 100 ms until the handle is dropped.
    #[allow(dead_code)]
    pub fn start_controllers(&self, ca_cert_pem: &str, ca_key_pem: &str) -> Controllers {
        self.set_cluster_ca(ca_cert_pem, ca_key_pem);
        Controllers::start(self.store.clone())
    }
}
