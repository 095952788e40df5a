//! Reading static Pod manifests the way a kubelet stand-in needs them: the container's command line, its
//! hostPath volumes, and each flag's path moved under the node's root so the real binary (etcd) can run from the
//! manifest kbinit rendered.

use std::path::Path;

/// The `command:` list of the first container, as written (one `    - item` per line).
pub fn manifest_command(yaml: &str) -> Vec<String> {
    let mut lines = yaml.lines().skip_while(|l| l.trim() != "- command:");
    assert!(lines.next().is_some(), "no command list in\n{yaml}");
    lines.map_while(|l| l.strip_prefix("    - ")).map(str::to_string).collect()
}

/// The hostPath volumes as `(mountPath, hostPath)`, matched by volume name.
pub fn host_paths(yaml: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = yaml.lines().collect();
    let section = |header: &str| -> &[&str] {
        let start = lines.iter().position(|l| *l == header).unwrap_or_else(|| panic!("no {header:?} in\n{yaml}"));
        let indent = header.len() - header.trim_start().len();
        let len = lines[start + 1..]
            .iter()
            .position(|l| {
                let i = l.len() - l.trim_start().len();
                i < indent || (i == indent && !l.trim_start().starts_with("- "))
            })
            .unwrap_or(lines.len() - start - 1);
        &lines[start + 1..start + 1 + len]
    };
    // every list item: its key/value lines
    let items = |section: &[&str]| -> Vec<Vec<(String, String)>> {
        let mut out: Vec<Vec<(String, String)>> = Vec::new();
        for l in section {
            if l.trim_start().starts_with("- ") {
                out.push(Vec::new());
            }
            if let Some((k, v)) = l.trim().trim_start_matches("- ").split_once(':') {
                out.last_mut().unwrap().push((k.to_string(), v.trim().to_string()));
            }
        }
        out
    };
    let get = |item: &[(String, String)], key: &str| item.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let volumes = items(section("  volumes:"));
    let mounts: Vec<(String, String)> = items(section("    volumeMounts:"))
        .iter()
        .map(|m| {
            let name = get(m, "name").unwrap();
            let v = volumes.iter().find(|v| get(v, "name").as_ref() == Some(&name)).unwrap();
            (get(m, "mountPath").unwrap(), get(v, "path").unwrap_or_else(|| panic!("{name} is not a hostPath")))
        })
        .collect();
    assert!(!mounts.is_empty() && mounts.len() == volumes.len(), "volumes {volumes:?}");
    mounts
}

/// `--flag=value` with a value under a mount path gets the host path under the root; nothing else changes.
pub fn resolve(flag: &str, mounts: &[(String, String)], root: &Path) -> String {
    let Some((name, value)) = flag.split_once('=') else {
        return flag.to_string();
    };
    for (mount, host) in mounts {
        if let Some(rest) = value.strip_prefix(mount.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return format!("{name}={}{host}{rest}", root.display());
        }
    }
    assert!(!value.starts_with('/'), "{flag}: a path outside the manifest's volumes");
    flag.to_string()
}
