//! `kbinit config`: `config migrate` ([`migrate`]) and `config images list|pull` ([`images`]).

pub mod images;
pub mod migrate;
