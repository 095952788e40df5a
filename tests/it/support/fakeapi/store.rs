//! The shared store (the fake's etcd): objects keyed by resource, namespace and name, the global resourceVersion
//! counter, the cluster CA the signer uses, and the request log. Plain data; the REST rules live in `rest`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::resources::Resource;

/// Where an object lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub group: String,
    pub resource: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl Key {
    pub fn new(r: &Resource, namespace: &str, name: &str) -> Key {
        Key {
            group: r.group.into(),
            resource: r.resource.into(),
            namespace: if r.namespaced { namespace.into() } else { String::new() },
            name: name.into(),
        }
    }
}

/// One request as the server saw it, for tests to assert on.
#[derive(Debug, Clone)]
#[allow(dead_code)] // fields read by the tests of the phases that talk to the fake
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub user: String,
    pub groups: Vec<String>,
    pub status: u16,
    pub content_type: String,
}

/// The cluster CA the CSR signer issues from (PEM).
#[derive(Clone)]
pub struct SigningCa {
    pub cert_pem: String,
    pub key_pem: String,
}

/// Everything behind the fake's one mutex.
#[derive(Default)]
pub struct Store {
    pub objects: BTreeMap<Key, Value>,
    revision: u64,
    pub log: Vec<LoggedRequest>,
    pub ca: Option<SigningCa>,
}

impl Store {
    /// The next resourceVersion (one counter for every kind, as etcd's revision is).
    pub fn next_rv(&mut self) -> String {
        self.revision += 1;
        self.revision.to_string()
    }
    /// The current revision (a list's resourceVersion).
    pub fn revision(&self) -> String {
        self.revision.to_string()
    }
    pub fn get(&self, r: &Resource, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&Key::new(r, namespace, name))
    }
    /// Every object of a resource (in one namespace when `namespace` is non-empty), in key order.
    pub fn list(&self, r: &Resource, namespace: &str) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.group == r.group && k.resource == r.resource)
            .filter(|(k, _)| namespace.is_empty() || k.namespace == namespace)
            .map(|(_, v)| v.clone())
            .collect()
    }
    /// Stores `obj` under its key with a new resourceVersion; returns what was stored.
    pub fn put(&mut self, r: &Resource, mut obj: Value) -> Value {
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = rv.into();
        let key = Key::new(r, str_at(&obj, "/metadata/namespace"), str_at(&obj, "/metadata/name"));
        self.objects.insert(key, obj.clone());
        obj
    }
}

/// The string at a JSON pointer, or "".
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// A random RFC 4122 version-4 UID.
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).expect("random bytes");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// `generateName` suffix: 5 characters from the real server's alphabet (no vowels, no ambiguous digits).
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut b = [0u8; 5];
    aws_lc_rs::rand::fill(&mut b).expect("random bytes");
    b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect()
}

/// Now as the API writes times: RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (what bootstrap token Secrets carry); other forms are None.
pub fn parse_rfc3339(s: &str) -> Option<time::OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let month = time::Month::try_from(n(5..7)? as u8).ok()?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(8..10)? as u8).ok()?;
    let clock = time::Time::from_hms(n(11..13)? as u8, n(14..16)? as u8, n(17..19)? as u8).ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc())
}
