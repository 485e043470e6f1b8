//! serde deserialisation from the positioned tree (`yaml_tree::Node`), so a
//! scenario's values are read by the one scalar resolution that the
//! structure check judged (YAML 1.2 core: `true`/`false` are booleans, `yes`,
//! `no`, `on`, `off`, `y` and `n` are strings).
//!
//! Reading the text a second time with serde-saphyr gave a second resolution
//! that disagreed: where serde buffers a value before knowing its type (the
//! keys of a probe or fault, flattened beside their `kind`), serde-saphyr
//! infers YAML 1.1 booleans, so `record: no` became `false` after the schema
//! had accepted it as a string. Errors carry the key path and the position
//! of the value they are about.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

use super::yaml_tree::{Key, Node, Path, Position, Value};

/// A value the target type refused, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeError {
    pub path: Path,
    pub at: Position,
    pub message: String,
    /// Whether `path` and `at` are set: an error is placed once, at the
    /// deepest value it comes out of.
    located: bool,
}

impl TreeError {
    fn locate(mut self, path: &Path, at: Position) -> Self {
        if !self.located {
            self.path = path.clone();
            self.at = at;
            self.located = true;
        }
        self
    }
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TreeError {}

impl de::Error for TreeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        TreeError { path: Path::root(), at: Position::default(), message: message.to_string(), located: false }
    }
}

/// Deserialises `T` from the tree.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, TreeError> {
    T::deserialize(NodeDeserializer { node, path: Path::root() }).map_err(|error| error.locate(&Path::root(), node.at))
}

struct NodeDeserializer<'a> {
    node: &'a Node,
    path: Path,
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = TreeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            // Beyond 64 bits, a number as the structure check's JSON holds
            // it: serde's buffered values (a probe's or fault's keys) take no
            // 128-bit integers, and no field of ours is that wide.
            Value::Int(i) => match (i64::try_from(*i), u64::try_from(*i)) {
                (Ok(small), _) => visitor.visit_i64(small),
                (_, Ok(large)) => visitor.visit_u64(large),
                _ => visitor.visit_f64(*i as f64),
            },
            Value::Float(f) => visitor.visit_f64(*f),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(SeqAccess { items: items.iter().enumerate(), path: &self.path }),
            Value::Map(entries) => visitor.visit_map(MapAccess { entries: entries.iter(), value: None, path: &self.path }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TreeError> {
        match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, TreeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(self, _name: &'static str, _variants: &'static [&'static str], visitor: V) -> Result<V::Value, TreeError> {
        match &self.node.value {
            Value::Str(variant) => visitor.visit_enum(variant.as_str().into_deserializer()),
            Value::Map(entries) if entries.len() == 1 => {
                let (key, value) = &entries[0];
                visitor.visit_enum(EnumAccess { key, value, path: &self.path })
            }
            other => Err(de::Error::custom(format!("expected a variant name or a mapping of one key, found {}", other.describe()))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct SeqAccess<'a, I> {
    items: I,
    path: &'a Path,
}

impl<'de, 'a, I: Iterator<Item = (usize, &'a Node)>> de::SeqAccess<'de> for SeqAccess<'_, I> {
    type Error = TreeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, TreeError> {
        let Some((index, node)) = self.items.next() else { return Ok(None) };
        let path = self.path.index(index);
        seed.deserialize(NodeDeserializer { node, path: path.clone() }).map(Some).map_err(|error| error.locate(&path, node.at))
    }
}

struct MapAccess<'a, 'p, I> {
    entries: I,
    /// The value of the key just read, with that key.
    value: Option<(&'a Key, &'a Node)>,
    path: &'p Path,
}

impl<'de, 'a, I: Iterator<Item = &'a (Key, Node)>> de::MapAccess<'de> for MapAccess<'a, '_, I> {
    type Error = TreeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, TreeError> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        self.value = Some((key, value));
        // An unknown key is refused here: placed at the key itself.
        seed.deserialize(key.name.as_str().into_deserializer()).map(Some).map_err(|error: TreeError| error.locate(&self.path.key(&key.name), key.at))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, TreeError> {
        let Some((key, node)) = self.value.take() else { return Err(de::Error::custom("a value was asked for before its key")) };
        let path = self.path.key(&key.name);
        // A mapping or list refused as a whole (a key missing from it) is
        // shown at its key, a scalar where it stands.
        let at = if matches!(node.value, Value::Map(_) | Value::Seq(_)) { key.at } else { node.at };
        seed.deserialize(NodeDeserializer { node, path: path.clone() }).map_err(|error| error.locate(&path, at))
    }
}

struct EnumAccess<'a, 'p> {
    key: &'a Key,
    value: &'a Node,
    path: &'p Path,
}

impl<'de, 'a> de::EnumAccess<'de> for EnumAccess<'a, '_> {
    type Error = TreeError;
    type Variant = NodeDeserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), TreeError> {
        let path = self.path.key(&self.key.name);
        let variant = seed.deserialize(self.key.name.as_str().into_deserializer()).map_err(|error: TreeError| error.locate(&path, self.key.at))?;
        Ok((variant, NodeDeserializer { node: self.value, path }))
    }
}

impl<'de> de::VariantAccess<'de> for NodeDeserializer<'_> {
    type Error = TreeError;

    fn unit_variant(self) -> Result<(), TreeError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, TreeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, TreeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, TreeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::scenario::yaml_tree::parse;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        Dns { record: String, ttl: Option<u32> },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        tagged: Tagged,
    }

    #[test]
    fn yaml_1_1_booleans_stay_strings_where_serde_buffers_values() {
        for word in ["yes", "no", "on", "off", "y", "n", "Yes", "NO"] {
            let tree = parse(&format!("name: {word}\nkind: dns\nrecord: {word}\n")).unwrap();
            let outer: Outer = from_node(&tree).unwrap();
            assert_eq!(outer, Outer { name: word.into(), tagged: Tagged::Dns { record: word.into(), ttl: None } });
        }
        let flags: BTreeMap<String, bool> = from_node(&parse("a: true\nb: False\n").unwrap()).unwrap();
        assert_eq!(flags, BTreeMap::from([("a".into(), true), ("b".into(), false)]));
    }

    #[test]
    fn an_error_names_the_value_it_is_about_and_where_it_is() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Item {
            count: u8,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Items {
            items: Vec<Item>,
        }
        let error = from_node::<Items>(&parse("items:\n  - count: 1\n  - count: 300\n").unwrap()).unwrap_err();
        assert_eq!(error.path.to_string(), "items[1].count");
        assert_eq!(error.at, Position { line: 3, column: 12 });
        assert!(error.message.contains("300"), "{}", error.message);
        let error = from_node::<Items>(&parse("items:\n  - {}\n").unwrap()).unwrap_err();
        assert_eq!((error.path.to_string(), error.at, error.message.as_str()), ("items[0]".into(), Position { line: 2, column: 5 }, "missing field `count`"));
        // A mapping refused as a whole is shown at its key.
        let error = from_node::<BTreeMap<String, Item>>(&parse("first:\n  count: 1\nsecond:\n  size: 2\n").unwrap()).unwrap_err();
        assert_eq!((error.path.to_string(), error.at), ("second".into(), Position { line: 3, column: 1 }));
    }
}
