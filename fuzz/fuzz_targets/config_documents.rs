//! `--config` documents: arbitrary text through the YAML reader and the whole init and join loaders (decoding,
//! defaulting, validation). Any input must give a configuration or an error, never a panic.

#![no_main]

use kbinit_phases::config::{HostFacts, InitFlags, JoinFlags, load_init, load_join};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let facts = HostFacts {
        hostname: "node-1".into(),
        default_address: Some([192, 0, 2, 10].into()),
        cri_sockets: vec!["unix:///run/containerd/containerd.sock".into()],
        systemd_resolved: false,
    };
    let _ = kbinit_phases::go_format::yaml::documents(&text);
    let _ = kbinit_phases::go_format::yaml::from_yaml(&text);
    let _ = load_init(Some(&text), &InitFlags::default(), &facts);
    let _ = load_join(Some(&text), &JoinFlags::default(), &facts);
});
