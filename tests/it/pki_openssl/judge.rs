//! How openssl (and Python's `cryptography`) read a certificate or key for the PKI checks: the parsed
//! `openssl x509 -text`, verification, key/cert matching, key shapes, the CA pin both ways.

use super::*;

/// What `openssl x509 -noout -text` shows, parsed.
#[derive(Debug)]
pub(super) struct Cert {
    pub(super) text: String,
    pub(super) version: String,
    pub(super) serial: u64,
    pub(super) signature: String,
    pub(super) issuer: String,
    pub(super) subject: String,
    pub(super) not_before: i64,
    pub(super) not_after: i64,
    /// (name without `X509v3 `, critical, value lines joined by '\n')
    pub(super) exts: Vec<(String, bool, String)>,
}

impl Cert {
    pub(super) fn read(path: &Path) -> Cert {
        let text = openssl(&["x509", "-noout", "-text", "-in", path.to_str().unwrap()]);
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
                .trim()
                .to_string()
        };
        let serial = field("Serial Number:");
        let serial = serial
            .split_whitespace()
            .next()
            .and_then(|d| d.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("serial {serial:?} is not a decimal that fits 63 bits"));
        let mut exts = Vec::new();
        let mut in_ext = false;
        for line in text.lines() {
            if line.trim() == "X509v3 extensions:" {
                in_ext = true;
                continue;
            }
            if !in_ext {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if indent <= 4 {
                break; // "    Signature Algorithm:"
            }
            if indent == 12 {
                let (name, rest) = line.trim().split_once(':').unwrap();
                let name = name.trim_start_matches("X509v3 ").to_string();
                exts.push((name, rest.trim() == "critical", String::new()));
            } else {
                let last = &mut exts.last_mut().unwrap().2;
                if !last.is_empty() {
                    last.push('\n');
                }
                last.push_str(line.trim());
            }
        }
        Cert {
            version: field("Version:"),
            serial,
            signature: field("Signature Algorithm:"),
            issuer: field("Issuer:"),
            subject: field("Subject:"),
            not_before: rfc822(&field("Not Before:")),
            not_after: rfc822(&field("Not After :")),
            exts,
            text,
        }
    }
    pub(super) fn ext_names(&self) -> BTreeSet<String> {
        let names: BTreeSet<String> = self.exts.iter().map(|e| e.0.clone()).collect();
        assert_eq!(names.len(), self.exts.len(), "an extension appears twice:\n{}", self.text);
        names
    }
    pub(super) fn ext(&self, name: &str) -> (bool, String) {
        let e = self.exts.iter().find(|e| e.0 == name).unwrap_or_else(|| panic!("{name} missing:\n{}", self.text));
        (e.1, e.2.clone())
    }
    /// What every certificate shows (§Q.7 "All").
    pub(super) fn common(&self, alg: Alg, what: &str) {
        assert_eq!(self.version, "3 (0x2)", "{what}");
        assert!(self.serial > 0 && self.serial < (1 << 63) - 1, "{what}: serial {}", self.serial);
        assert_eq!(self.signature, alg.signature(), "{what}: signature algorithm");
        let bits = format!("Public-Key: ({} bit)", alg.bits());
        assert!(self.text.contains(&bits), "{what}: want {bits}:\n{}", self.text);
        if let Some(curve) = alg.curve() {
            assert!(self.text.contains(&format!("ASN1 OID: {curve}")), "{what}: want curve {curve}:\n{}", self.text);
        } else {
            assert!(self.text.contains("Public Key Algorithm: rsaEncryption"), "{what}:\n{}", self.text);
        }
    }
}

pub(super) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Seconds since the epoch of openssl's `Nov 22 12:26:52 2026 GMT`.
pub(super) fn rfc822(s: &str) -> i64 {
    let p: Vec<&str> = s.split_whitespace().collect();
    assert_eq!((p.len(), p.get(4)), (5, Some(&"GMT")), "date {s:?}");
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let m = months.iter().position(|m| *m == p[0]).unwrap() as i64 + 1;
    let d: i64 = p[1].parse().unwrap();
    let y: i64 = p[3].parse().unwrap();
    let hms: Vec<i64> = p[2].split(':').map(|x| x.parse().unwrap()).collect();
    // days from civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * DAY + hms[0] * 3600 + hms[1] * 60 + hms[2]
}

pub(super) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub(super) fn openssl(args: &[&str]) -> String {
    run_ok("openssl", args)
}

/// Runs openssl with `input` on stdin; returns (success, stdout).
pub(super) fn openssl_stdin(args: &[&str], input: &[u8]) -> (bool, Vec<u8>) {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    (o.status.success(), o.stdout)
}

pub(super) fn verify(ca: &Path, leaf: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["verify", "-x509_strict"];
    args.extend_from_slice(extra);
    args.extend(["-CAfile", ca.to_str().unwrap(), leaf.to_str().unwrap()]);
    let o = Command::new("openssl").args(&args).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    (o.status.success(), all)
}

pub(super) fn verify_ok(ca: &Path, leaf: &Path, what: &str) {
    let (ok, out) = verify(ca, leaf, &[]);
    assert!(ok && out.trim_end().ends_with(": OK"), "{what}: openssl verify failed:\n{out}");
}

pub(super) fn verify_purpose(ca: &Path, leaf: &Path, purpose: &str, what: &str) {
    let (ok, out) = verify(ca, leaf, &["-purpose", purpose]);
    assert!(ok, "{what}: openssl verify -purpose {purpose} failed:\n{out}");
}

pub(super) fn verify_fails(ca: &Path, leaf: &Path, what: &str) {
    let (ok, out) = verify(ca, leaf, &[]);
    assert!(!ok, "{what}: openssl verify passed against the wrong CA:\n{out}");
    assert!(out.contains("error"), "{what}: {out}");
}

/// The key's public half is the certificate's, and the key has the case's encoding, size and curve.
pub(super) fn key_matches(key: &Path, crt: &Path, alg: Alg, what: &str) {
    let from_key = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    let from_crt = openssl(&["x509", "-in", crt.to_str().unwrap(), "-pubkey", "-noout"]);
    assert!(from_key.starts_with("-----BEGIN PUBLIC KEY-----"), "{what}: {from_key}");
    assert_eq!(from_key, from_crt, "{what}: key does not match its certificate");
    key_shape(key, alg, what);
}

pub(super) fn key_shape(key: &Path, alg: Alg, what: &str) {
    let pem = std::fs::read_to_string(key).unwrap();
    assert_eq!(pem.lines().next(), Some(alg.key_pem_header()), "{what}: key PEM header");
    assert_eq!(pem.matches("-----BEGIN").count(), 1, "{what}: one PEM block");
    let text = openssl(&["pkey", "-in", key.to_str().unwrap(), "-noout", "-text"]);
    let first = text.lines().next().unwrap();
    match alg {
        Alg::Rsa(b) => assert_eq!(first, format!("Private-Key: ({b} bit, 2 primes)"), "{what}"),
        Alg::Ec(b) => {
            assert_eq!(first, format!("Private-Key: ({b} bit)"), "{what}");
            assert!(text.contains(&format!("ASN1 OID: {}", alg.curve().unwrap())), "{what}: {text}");
        }
    }
}

/// §Q.1 with openssl: SHA-256 over the DER SubjectPublicKeyInfo.
pub(super) fn pin_openssl(crt: &Path) -> String {
    let spki_pem = openssl(&["x509", "-in", crt.to_str().unwrap(), "-noout", "-pubkey"]);
    let (ok, der) = openssl_stdin(&["pkey", "-pubin", "-outform", "DER"], spki_pem.as_bytes());
    assert!(ok && !der.is_empty());
    let (ok, dgst) = openssl_stdin(&["dgst", "-sha256", "-hex", "-r"], &der);
    assert!(ok);
    let hex = String::from_utf8(dgst).unwrap();
    format!("sha256:{}", hex.split_whitespace().next().unwrap())
}

/// §Q.1 with Python's `cryptography`.
pub(super) fn pin_python(crt: &Path) -> String {
    let script = "import sys, hashlib
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
c = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
print('sha256:' + hashlib.sha256(c.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest())";
    run_ok("python3", &["-c", script, crt.to_str().unwrap()]).trim().to_string()
}

/// Whether python3 with `cryptography` is here; like `require_tool`, missing is fatal only under CI.
pub(super) fn python_cryptography() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        assert!(std::env::var("CI").is_err(), "python3 with cryptography is missing under CI");
        eprintln!("skipping the Python pin check: python3 -c 'import cryptography' fails");
    }
    ok
}

/// The value of `key: value` in a kubeconfig (the first such line).
pub(super) fn kubeconfig_field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or_else(|| panic!("{key} missing in\n{text}"))
        .trim()
}

/// Standard base64 (with padding) to bytes.
pub(super) fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {:?}", c as char),
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut n) = (0u32, 0);
    for &c in s {
        acc = (acc << 6) | u32::from(val(c));
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
            acc &= (1 << n) - 1;
        }
    }
    out
}
