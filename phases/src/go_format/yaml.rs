//! YAML in and out. Output follows the layout of Go's sigs.k8s.io/yaml (go-yaml v2): keys sorted the way
//! go-yaml sorts them, two-space indentation, sequences not indented under their key, YAML 1.1-ambiguous
//! strings double-quoted, strings plain YAML cannot hold single-quoted, multi-line strings as literal blocks,
//! long lines folded at column 80. kbinit's files therefore diff cleanly against kubeadm's (byte for byte).
//!
//! Reading goes through serde-saphyr, which reads YAML 1.1 the way Go does for the documents kubeadm takes.

use std::cmp::Ordering;

use serde_json::Value;

use super::yaml_scalar::{analyze, is_base60_float, is_break, is_printable, resolves_to_non_string};
use crate::Error;

/// go-yaml's line width: a plain or quoted scalar is folded at a space once the line is longer than this.
const BEST_WIDTH: usize = 80;
/// go-yaml's indentation step.
const INDENT: usize = 2;

/// Renders a JSON value as YAML the way Kubernetes' Go code would (sigs.k8s.io/yaml `Marshal`).
pub fn to_yaml(value: &Value) -> String {
    let mut out = Out::default();
    out.node(value, 0, Pos::Root);
    if out.column > 0 {
        out.buf.push('\n');
    }
    out.buf
}

/// Parses one YAML document into a JSON value.
pub fn from_yaml(text: &str) -> Result<Value, Error> {
    serde_saphyr::from_str(text).map_err(|e| Error::Document(format!("invalid YAML: {e}")))
}

/// Splits a multi-document YAML stream into JSON values (empty documents are dropped).
pub fn documents(text: &str) -> Result<Vec<Value>, Error> {
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(text).map_err(|e| Error::Document(format!("invalid YAML: {e}")))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Where a node sits, which decides where it starts and how its children are indented.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pos {
    /// The document itself.
    Root,
    /// The value of a block mapping entry, right after `key:`.
    MapValue,
    /// A block sequence item, right after `- `.
    SeqItem,
}

/// How a scalar is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// The output buffer, with the column go-yaml's folding decisions depend on.
#[derive(Default)]
struct Out {
    buf: String,
    column: usize,
}

impl Out {
    fn put(&mut self, c: char) {
        self.buf.push(c);
        if c == '\n' {
            self.column = 0;
        } else {
            self.column += 1;
        }
    }

    fn put_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    /// go-yaml's `write_indent`: a line break unless already at the start of a line, then pad to `indent`.
    fn indent(&mut self, indent: usize) {
        if self.column > 0 {
            self.put('\n');
        }
        while self.column < indent {
            self.put(' ');
        }
    }

    /// Writes `value`; `indent` is the indentation of the collection holding it (0 at the root).
    fn node(&mut self, value: &Value, indent: usize, pos: Pos) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                let own = match pos {
                    Pos::Root => 0,
                    Pos::MapValue | Pos::SeqItem => indent + INDENT,
                };
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort_by(|a, b| go_key_order(a, b));
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 || pos != Pos::SeqItem {
                        self.indent(own);
                    }
                    self.scalar_str(key, own + INDENT, true);
                    self.put(':');
                    if let Some(v) = map.get(key) {
                        self.node(v, own, Pos::MapValue);
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let own = match pos {
                    Pos::Root => 0,
                    Pos::MapValue => indent,
                    Pos::SeqItem => indent + INDENT,
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 || pos != Pos::SeqItem {
                        self.indent(own);
                    }
                    self.put_str("- ");
                    self.node(item, own, Pos::SeqItem);
                }
            }
            scalar => {
                if pos == Pos::MapValue {
                    self.put(' ');
                }
                let scalar_indent = match pos {
                    Pos::Root => INDENT,
                    Pos::MapValue | Pos::SeqItem => indent + INDENT,
                };
                match scalar {
                    Value::Object(_) => self.put_str("{}"),
                    Value::Array(_) => self.put_str("[]"),
                    Value::Null => self.put_str("null"),
                    Value::Bool(b) => self.put_str(if *b { "true" } else { "false" }),
                    Value::Number(n) => self.put_str(&number(n)),
                    Value::String(s) => self.scalar_str(s, scalar_indent, false),
                }
            }
        }
    }

    /// Writes a string scalar in the style go-yaml picks; `indent` is where folded lines continue.
    fn scalar_str(&mut self, s: &str, indent: usize, simple_key: bool) {
        match string_style(s, simple_key) {
            Style::Plain => self.plain(s, indent, !simple_key),
            Style::Single => self.single(s, indent, !simple_key),
            Style::Double => self.double(s, indent, !simple_key),
            Style::Literal => self.literal(s, indent),
        }
    }

    fn plain(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
    }

    fn single(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('\'');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < chars.len() && !next_space {
                    self.indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                spaces = false;
            }
        }
        self.put('\'');
    }

    fn double(&mut self, s: &str, indent: usize, allow_breaks: bool) {
        let chars: Vec<char> = s.chars().collect();
        self.put('"');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{07}' => self.put('a'),
                    '\u{08}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{0B}' => self.put('v'),
                    '\u{0C}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1B}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    other => {
                        let v = other as u32;
                        let escaped = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        self.put_str(&escaped);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i + 1 < chars.len() {
                    self.indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.put('"');
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.put('|');
        let chars: Vec<char> = s.chars().collect();
        if chars.first().is_some_and(|&c| c == ' ' || is_break(c)) {
            self.put_str(&INDENT.to_string());
        }
        let n = chars.len();
        if n == 0 || !is_break(chars[n - 1]) {
            self.put('-');
        } else if n == 1 || is_break(chars[n - 2]) {
            self.put('+');
        }
        self.put('\n');
        let mut at_line_start = true;
        for c in chars {
            if c == '\n' {
                self.put('\n');
                at_line_start = true;
            } else {
                if at_line_start {
                    self.indent(indent);
                    at_line_start = false;
                }
                self.put(c);
            }
        }
    }
}

/// Picks go-yaml's style for a string: its encoder asks for plain (or literal for multi-line strings, double
/// quotes for strings YAML 1.1 would resolve to something else), and its emitter downgrades to single, then
/// double quotes when the text cannot be written that way.
fn string_style(s: &str, simple_key: bool) -> Style {
    let analysis = analyze(s);
    let requested = if s.contains('\n') {
        Style::Literal
    } else if resolves_to_non_string(s) || is_base60_float(s) {
        Style::Double
    } else {
        Style::Plain
    };
    match requested {
        Style::Plain if analysis.block_plain => Style::Plain,
        Style::Plain if analysis.single_quoted => Style::Single,
        Style::Literal if analysis.block && !simple_key => Style::Literal,
        _ => Style::Double,
    }
}

/// go-yaml's map key order: runs of digits compare as numbers, and a letter sorts after a non-letter.
fn go_key_order(a: &str, b: &str) -> Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl { Ordering::Less } else { Ordering::Greater };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// A JSON number as sigs.k8s.io/yaml writes it. Go's JSON encoder writes a whole float below 1e21 without a
/// fraction, which go-yaml then reads back as an integer; every other float is written in Go's `%g` form.
fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let Some(f) = n.as_f64() else {
        return n.to_string();
    };
    if f == 0.0 {
        return "0".into();
    }
    if f.fract() == 0.0 && f.abs() < 1e21 && f.abs() < 9.2e18 {
        return format!("{f:.0}");
    }
    // shortest round-trip digits and decimal exponent, as Go's strconv finds them
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let rest = &digits[1..];
        let dot = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{dot}e{esign}{:02}", &digits[..1], exp.abs());
    }
    let nd = digits.len() as i32;
    let body = if exp < 0 {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    } else if exp + 1 >= nd {
        format!("{digits}{}", "0".repeat((exp + 1 - nd) as usize))
    } else {
        format!("{}.{}", &digits[..(exp + 1) as usize], &digits[(exp + 1) as usize..])
    };
    format!("{sign}{body}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const REF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/kubeadm-1.28.7/");

    #[test]
    fn reference_files_round_trip_byte_for_byte() {
        for name in [
            "etcd.yaml",
            "kube-apiserver.yaml",
            "kube-controller-manager.yaml",
            "kube-scheduler.yaml",
            "kubelet-config.yaml",
            "admin.conf.yaml",
            "kubelet.conf.yaml",
            "scheduler.conf.yaml",
            "controller-manager.conf.yaml",
        ] {
            let text = std::fs::read_to_string(format!("{REF}{name}")).unwrap();
            let value = from_yaml(&text).unwrap();
            assert_eq!(to_yaml(&value), text, "{name}");
        }
    }

    #[test]
    fn layout_of_collections() {
        let v = json!({"b": {"c": [1, "x"], "e": {}}, "a": [], "d": [{"k": "v", "j": [true]}], "m": null, "n": 1});
        assert_eq!(
            to_yaml(&v),
            "a: []\nb:\n  c:\n  - 1\n  - x\n  e: {}\nd:\n- j:\n  - true\n  k: v\nm: null\n\"n\": 1\n"
        );
        assert_eq!(to_yaml(&json!({})), "{}\n");
        assert_eq!(to_yaml(&json!([[1, 2], [3]])), "- - 1\n  - 2\n- - 3\n");
    }

    #[test]
    fn yaml_11_ambiguous_strings_are_double_quoted() {
        for s in [
            "on",
            "Off",
            "yes",
            "Y",
            "n",
            "NO",
            "true",
            "FALSE",
            "null",
            "~",
            "",
            "0755",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            "+12",
            "-3",
            "1.5",
            ".5",
            "1e3",
            ".inf",
            "-.INF",
            ".nan",
            "1:20",
            "2026-01-01",
            "2026-1-2",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "08",
            "99999999999999999999",
        ] {
            let v = json!({ "k": s });
            assert_eq!(to_yaml(&v), format!("k: \"{s}\"\n"), "{s:?}");
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        for s in [
            "yEs",
            "2026-13-01",
            "2026-02-30",
            "10.96.0.0/12",
            "v1.28.7",
            "1.2.3",
            "0xZZ",
            "1e400",
            "a:b",
            "a#b",
            "-a",
            "Node,RBAC",
            "unix:///run/containerd/containerd.sock",
            "<<",
            "kube-apiserver",
            "0s",
            "250m",
        ] {
            let v = json!({ "k": s });
            assert_eq!(to_yaml(&v), format!("k: {s}\n"), "{s:?}");
        }
    }

    #[test]
    fn indicator_strings_are_single_quoted() {
        for (s, want) in [
            ("*,bootstrapsigner,tokencleaner", "'*,bootstrapsigner,tokencleaner'"),
            ("&a", "'&a'"),
            ("!x", "'!x'"),
            ("- a", "'- a'"),
            ("-", "'-'"),
            ("? x", "'? x'"),
            ("a: b", "'a: b'"),
            ("a #b", "'a #b'"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("[x]", "'[x]'"),
            ("{x}", "'{x}'"),
            ("#c", "'#c'"),
            ("it's", "it's"),
            ("'q", "'''q'"),
            ("%p", "'%p'"),
            ("@a", "'@a'"),
            ("`a", "'`a'"),
            ("---", "'---'"),
        ] {
            assert_eq!(to_yaml(&json!({ "k": s })), format!("k: {want}\n"), "{s:?}");
        }
    }

    #[test]
    fn control_characters_use_escapes() {
        assert_eq!(to_yaml(&json!({"k": "a\tb"})), "k: \"a\\tb\"\n");
        assert_eq!(to_yaml(&json!({"k": "a\rb\u{1}"})), "k: \"a\\rb\\x01\"\n");
        assert_eq!(to_yaml(&json!({"k": "\"x"})), "k: '\"x'\n");
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        assert_eq!(to_yaml(&json!({"d": {"k": "a\nb\n"}})), "d:\n  k: |\n    a\n    b\nz: 1\n".replace("z: 1\n", ""));
        assert_eq!(to_yaml(&json!({"k": "a\n\nb", "l": 1})), "k: |-\n  a\n\n  b\nl: 1\n");
        assert_eq!(to_yaml(&json!({"k": "a\n\n"})), "k: |+\n  a\n\n");
        assert_eq!(to_yaml(&json!({"k": " a\nb"})), "k: |2-\n   a\n  b\n");
        assert_eq!(to_yaml(&json!(["x\ny"])), "- |-\n  x\n  y\n");
        // trailing space on a line break: no block style
        assert_eq!(to_yaml(&json!({"k": "a \nb"})), "k: \"a \\nb\"\n");
    }

    #[test]
    fn long_strings_fold_at_column_80() {
        let words = vec!["word"; 30].join(" ");
        let out = to_yaml(&json!({ "description": words }));
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1, "{out}");
        assert!(lines[1].starts_with("  word"), "{out}");
        assert_eq!(from_yaml(&out).unwrap()["description"], json!(words));
        let nospace = "x".repeat(200);
        assert_eq!(to_yaml(&json!({ "k": nospace })), format!("k: {nospace}\n"));
    }

    #[test]
    fn tricky_strings_round_trip() {
        let strings = [
            "on",
            "0755",
            "1:20",
            "2026-01-01",
            "",
            "*,bootstrapsigner,tokencleaner",
            "yes",
            "a: b",
            " x ",
            "a\nb\n",
            "tab\there",
            "'",
            "\"",
            "# c",
            "1_000",
            "~",
            "null",
            "0x10",
            "-",
            "a\n\nb",
            "1e3",
            ".inf",
            "it's",
        ];
        for s in strings {
            let v = json!({ "k": s, s: "key" });
            assert_eq!(from_yaml(&to_yaml(&v)).unwrap(), v, "{s:?}: {}", to_yaml(&v));
        }
    }

    #[test]
    fn keys_sort_like_go_yaml() {
        let v = json!({"a10": 1, "a9": 2, "a_b": 3, "aB": 4, "ab": 5});
        assert_eq!(to_yaml(&v), "a_b: 3\na9: 2\na10: 1\naB: 4\nab: 5\n");
    }

    #[test]
    fn numbers_are_written_like_go() {
        let v = json!({"a": 1.5, "b": 1_000_000.0, "c": 0.00001, "d": 1234567.5, "e": -7, "f": 0.0001, "g": 1e22});
        assert_eq!(to_yaml(&v), "a: 1.5\nb: 1000000\nc: 1e-05\nd: 1.2345675e+06\ne: -7\nf: 0.0001\ng: 1e+22\n");
    }
}
