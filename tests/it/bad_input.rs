//! The bad-input corpus (tests/corpus/bad-input/<case>/): each case is a config file and/or flags that kbinit
//! must refuse with exit code 3, a message naming the field, and a root left exactly as it was.

use crate::support::{Node, repo, snapshot};

#[test]
fn every_malformed_input_is_refused_before_anything_changes() {
    let dir = repo().join("tests/corpus/bad-input");
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus holds {} cases, want at least 30", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let node = Node::new();
        let before = snapshot(node.root());
        let mut args: Vec<String> = vec!["init".into()];
        let extra = std::fs::read_to_string(case.join("args")).unwrap_or_default();
        args.extend(extra.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
        let cfg = case.join("config.yaml");
        if cfg.exists() {
            args.push("--config".into());
            args.push(cfg.display().to_string());
        }
        let expect = std::fs::read_to_string(case.join("expect")).unwrap();
        let expect = expect.trim();
        let r = node.kbinit(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if r.code != 3 {
            failures.push(format!("{name}: exit {} (want 3)\n{}{}", r.code, r.stdout, r.stderr));
        } else if !r.stderr.contains(expect) {
            failures.push(format!("{name}: message does not name {expect:?}: {}", r.stderr.trim()));
        }
        if snapshot(node.root()) != before {
            failures.push(format!("{name}: the root changed"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
