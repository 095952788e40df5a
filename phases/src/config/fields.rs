//! The inventory of a configuration document's fields, read from its serde type itself: [`field_paths`] drives
//! the type's `Deserialize` with a deserializer that answers every struct with all of its fields, every option
//! with `Some`, every list with one item, and records the path of each leaf (`apiServer.extraVolumes[].readOnly`).
//!
//! The field-effect test (tests/it/fields.rs) walks this inventory, so a field added to a wire type later shows up
//! there by itself and fails until it is given an expectation.

use std::cell::RefCell;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// The tracer's error (a type the walk does not know).
#[derive(Debug)]
pub struct TraceError(String);

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        TraceError(msg.to_string())
    }
}

/// Every leaf field path of `T` as its wire spells it, in declaration order. Lists are written `name[]`; maps
/// and values of any shape (`extraArgs`, `featureGates`, `valueFrom`) are leaves.
pub fn field_paths<'de, T: Deserialize<'de>>() -> Result<Vec<String>, TraceError> {
    let leaves = RefCell::new(Vec::new());
    T::deserialize(Tracer { path: String::new(), leaves: &leaves })?;
    Ok(leaves.into_inner())
}

struct Tracer<'a> {
    path: String,
    leaves: &'a RefCell<Vec<String>>,
}

impl Tracer<'_> {
    fn leaf(&self) {
        // a list of scalars is one field
        let path = self.path.strip_suffix("[]").unwrap_or(&self.path);
        self.leaves.borrow_mut().push(path.to_string());
    }
}

macro_rules! leaf {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
            self.leaf();
            v.$visit($value)
        })*
    };
}

impl<'de> Deserializer<'de> for Tracer<'_> {
    type Error = TraceError;

    leaf! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i8(0), deserialize_i16 => visit_i16(0), deserialize_i32 => visit_i32(0),
        deserialize_i64 => visit_i64(0), deserialize_u8 => visit_u8(0), deserialize_u16 => visit_u16(0),
        deserialize_u32 => visit_u32(0), deserialize_u64 => visit_u64(0), deserialize_f32 => visit_f32(0.0),
        deserialize_f64 => visit_f64(0.0), deserialize_char => visit_char('x'),
        deserialize_str => visit_str(""), deserialize_string => visit_string(String::new()),
        deserialize_bytes => visit_bytes(&[]), deserialize_byte_buf => visit_byte_buf(Vec::new()),
    }

    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.leaf();
        v.visit_unit()
    }

    /// A value of any shape (untagged enums, `serde_json::Value`): a leaf, answered with an empty map.
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.leaf();
        v.visit_map(Fields { names: &[], at: 0, parent: self.path.clone(), leaves: self.leaves })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.deserialize_any(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_some(self)
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, TraceError> {
        self.deserialize_unit(v)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, v: V) -> Result<V::Value, TraceError> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        let path = format!("{}[]", self.path);
        v.visit_seq(OneItem { item: Some(Tracer { path, leaves: self.leaves }) })
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, v: V) -> Result<V::Value, TraceError> {
        self.deserialize_seq(v)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        v: V,
    ) -> Result<V::Value, TraceError> {
        self.deserialize_seq(v)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, TraceError> {
        v.visit_map(Fields { names: fields, at: 0, parent: self.path.clone(), leaves: self.leaves })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, TraceError> {
        Err(TraceError(format!("{}: enum {name} is not walked", self.path)))
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        self.deserialize_str(v)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, TraceError> {
        v.visit_unit()
    }
}

/// A struct's fields, each with a tracer one level down.
struct Fields<'a> {
    names: &'static [&'static str],
    at: usize,
    parent: String,
    leaves: &'a RefCell<Vec<String>>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = TraceError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, TraceError> {
        let Some(name) = self.names.get(self.at) else { return Ok(None) };
        seed.deserialize((*name).into_deserializer()).map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, TraceError> {
        let name = self.names.get(self.at).copied().unwrap_or_default();
        self.at += 1;
        let path = if self.parent.is_empty() { name.to_string() } else { format!("{}.{name}", self.parent) };
        seed.deserialize(Tracer { path, leaves: self.leaves })
    }
}

/// A list with a single item.
struct OneItem<'a> {
    item: Option<Tracer<'a>>,
}

impl<'de> SeqAccess<'de> for OneItem<'_> {
    type Error = TraceError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, TraceError> {
        match self.item.take() {
            Some(t) => seed.deserialize(t).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::wire::{WireCluster, WireInit};

    #[test]
    fn walks_nested_structs_lists_and_renamed_fields() {
        let init = field_paths::<WireInit>().unwrap();
        for want in ["bootstrapTokens[].ttl", "nodeRegistration.taints[].effect", "localAPIEndpoint.bindPort"] {
            assert!(init.contains(&want.to_string()), "{want} missing from {init:?}");
        }
        let cluster = field_paths::<WireCluster>().unwrap();
        for want in ["apiServer.certSANs", "apiServer.extraArgs", "etcd.local.serverCertSANs", "featureGates"] {
            assert!(cluster.contains(&want.to_string()), "{want} missing from {cluster:?}");
        }
        assert!(!cluster.iter().any(|p| p.starts_with("apiServer.extraArgs.")), "{cluster:?}");
    }
}
