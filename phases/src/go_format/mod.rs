//! The text formats Go's libraries print, in one home: kbinit writes what kubeadm writes byte for byte, so it
//! reproduces the Go side's formatting rather than Rust's.
//!
//! | module | holds |
//! |---|---|
//! | [`yaml`] | YAML in and out, written the way sigs.k8s.io/yaml (go-yaml v2) writes it |
//! | `yaml_scalar` | go-yaml's scalar rules: which strings must be quoted, which may be plain or literal |
//! | [`duration`] | Go `time.Duration` text (`24h0m0s`) |
//! | [`time`] | RFC 3339 times and apimachinery's short human durations |
//! | [`table`] | Go's `text/tabwriter` as kubeadm configures it |

pub mod duration;
pub mod table;
pub mod time;
pub mod yaml;
mod yaml_scalar;
