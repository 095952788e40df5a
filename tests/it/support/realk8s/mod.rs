//! The real components of ../shared/k8s as test fixtures: the binaries unpacked and checked ([`bins`]) and a
//! node whose supervisor runs the static Pods kbinit writes with them ([`node::RealNode`]).

pub mod bins;
pub mod node;
