//! A unified diff of two texts (`upgrade diff`): the longest common subsequence of their lines, printed as
//! hunks with `context` lines around each change, under `--- <old>` / `+++ <new>` headers, in the format of
//! `diff -u` (and of the Go difflib kubeadm uses). Manifests are a few hundred lines, so the quadratic table is
//! cheap.

/// The unified diff of `old` and `new`; empty when they are equal.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str, context: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a == b {
        return String::new();
    }
    // lcs[i][j] = length of the LCS of a[i..] and b[j..]
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    // the edit script: (' ' | '-' | '+', old index, new index, line)
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops.iter().enumerate().filter(|(_, o)| o.0 != ' ').map(|(k, _)| k).collect();
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(context);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * context + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + context + 1).min(ops.len());
        let hunk = &ops[start..end];
        let old_len = hunk.iter().filter(|o| o.0 != '+').count();
        let new_len = hunk.iter().filter(|o| o.0 != '-').count();
        let old_start = hunk[0].1 + usize::from(old_len > 0);
        let new_start = hunk[0].2 + usize::from(new_len > 0);
        out.push_str(&format!("@@ -{} +{} @@\n", range(old_start, old_len), range(new_start, new_len)));
        for (tag, _, _, line) in hunk {
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn range(start: usize, len: usize) -> String {
    if len == 1 { start.to_string() } else { format!("{start},{len}") }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_diff_u() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n";
        let d = unified_diff(old, new, "old", "new", 3);
        // six equal lines between the changes: one hunk, as diff -u joins hunks up to 2×context apart
        assert_eq!(d, "--- old\n+++ new\n@@ -1,10 +1,11 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n h\n i\n j\n+k\n");
        let d1 = unified_diff(old, new, "old", "new", 1);
        assert_eq!(d1, "--- old\n+++ new\n@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n@@ -10 +10,2 @@\n j\n+k\n");
        assert_eq!(unified_diff(old, old, "o", "n", 3), "");
        assert!(unified_diff("", "x\n", "o", "n", 3).contains("@@ -0,0 +1 @@\n+x\n"));
    }

    #[test]
    fn agrees_with_gnu_diff_when_installed() {
        let dir = std::env::temp_dir().join(format!("kbinit-diff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let old: String = (0..60).map(|i| format!("line {i}\n")).collect();
        let new =
            old.replace("line 5\n", "line five\n").replace("line 40\n", "").replace("line 59\n", "line 59\nextra\n");
        std::fs::write(dir.join("o"), &old).unwrap();
        std::fs::write(dir.join("n"), &new).unwrap();
        let Ok(o) = std::process::Command::new("diff").arg("-u").arg(dir.join("o")).arg(dir.join("n")).output() else {
            return;
        };
        let gnu = String::from_utf8(o.stdout).unwrap();
        let hunks = |s: &str| s.lines().skip(2).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(hunks(&unified_diff(&old, &new, "o", "n", 3)), hunks(&gnu));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
