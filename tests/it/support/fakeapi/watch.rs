//! Watch (`GET <collection>?watch=1|true`): a chunked stream of JSON event lines (`{"type": "ADDED" |
//! "MODIFIED" | "DELETED", "object": {…}}`), as the real server sends with `Transfer-Encoding: chunked`.
//! The request is authorized and filtered as the list it watches (label and field selectors apply); events
//! start after `resourceVersion` (objects newer than it are sent as ADDED first; without one, every object is),
//! and the stream ends after `timeoutSeconds` (default 300 s).
//!
//! Simplified: changes are found by listing again every 200 ms and comparing resourceVersions (so changes
//! between two looks are folded into one event), authorization is checked once as verb `list`, no bookmarks,
//! no `410 Gone` for old versions.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::time::{Duration, Instant};

use hyper::body::{Bytes, Frame};
use serde_json::{Value, json};

/// `true` for a watch request.
pub fn is_watch(query: &str) -> bool {
    params(query).iter().any(|(k, v)| k == "watch" && (v == "1" || v == "true"))
}

fn params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The query of the list a watch follows (without the watch's own parameters).
pub fn list_query(query: &str) -> String {
    let drop = ["watch", "resourceVersion", "timeoutSeconds", "allowWatchBookmarks", "resourceVersionMatch"];
    query.split('&').filter(|p| !drop.contains(&p.split('=').next().unwrap_or(""))).collect::<Vec<_>>().join("&")
}

fn rv(obj: &Value) -> u64 {
    obj.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn key(obj: &Value) -> String {
    let m = &obj["metadata"];
    format!("{}/{}", m["namespace"].as_str().unwrap_or(""), m["name"].as_str().unwrap_or(""))
}

/// A list answer's items, each with the kind and apiVersion a watch event's object carries.
fn items(list: &Value) -> BTreeMap<String, Value> {
    let kind = list["kind"].as_str().unwrap_or("").trim_end_matches("List").to_string();
    let api_version = list["apiVersion"].clone();
    let mut out = BTreeMap::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let mut obj = item.clone();
        obj["kind"] = json!(kind);
        obj["apiVersion"] = api_version.clone();
        out.insert(key(&obj), obj);
    }
    out
}

fn event(kind: &str, obj: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": obj})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// The event stream: `first` is the list answer at the start, `relist` lists again (`None` ends the watch).
pub fn stream<F: Fn() -> Option<Value> + Send + 'static>(
    query: &str,
    first: &Value,
    relist: F,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send + use<F> {
    let p = params(query);
    let since: u64 = p.iter().find(|(k, _)| k == "resourceVersion").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let secs: u64 = p.iter().find(|(k, _)| k == "timeoutSeconds").and_then(|(_, v)| v.parse().ok()).unwrap_or(300);
    let deadline = Instant::now() + Duration::from_secs(secs.min(1800));
    let seen = items(first);
    let pending: VecDeque<Bytes> = seen.values().filter(|o| rv(o) > since).map(|o| event("ADDED", o)).collect();
    futures_util::stream::unfold((seen, pending, relist), move |(mut seen, mut pending, relist)| async move {
        loop {
            if let Some(line) = pending.pop_front() {
                return Some((Ok(Frame::data(line)), (seen, pending, relist)));
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = items(&relist()?);
            for (k, obj) in &now {
                match seen.get(k) {
                    None => pending.push_back(event("ADDED", obj)),
                    Some(old) if rv(old) != rv(obj) => pending.push_back(event("MODIFIED", obj)),
                    _ => {}
                }
            }
            for (k, obj) in &seen {
                if !now.contains_key(k) {
                    pending.push_back(event("DELETED", obj));
                }
            }
            seen = now;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_parameters() {
        assert!(is_watch("labelSelector=a%3Db&watch=1&resourceVersion=7"));
        assert!(is_watch("watch=true"));
        assert!(!is_watch("watch=0") && !is_watch("labelSelector=watch"));
        assert_eq!(
            list_query("labelSelector=a%3Db&watch=1&resourceVersion=7&timeoutSeconds=60"),
            "labelSelector=a%3Db"
        );
    }
}
