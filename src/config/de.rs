//! A serde `Deserializer` over the spanned value tree.
//!
//! Every error it produces carries the position of the node that caused it, so typed
//! deserialisation (`from_value::<u32>(v)`, small `#[derive(Deserialize)]` structs) reports
//! `file:line:col`. Map keys are lowercased on the way in (nats-server matches known field
//! names case-insensitively; field names and aliases are written in lowercase), and entries that
//! were used as `$variables` are skipped.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use super::schema::Span;
use super::value::{Entry, Kind, Value};

/// A deserialisation error: message, the offending node's position, and the unknown field name
/// when that is what went wrong (callers word that case in nats-server's terms).
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
    pub unknown_field: Option<String>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            span: None,
            unknown_field: None,
        }
    }

    fn invalid_type(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, got {unexp}"))
    }

    fn invalid_value(unexp: de::Unexpected, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, got {unexp}"))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        DeError {
            message: format!("unknown field {field:?}"),
            span: None,
            unknown_field: Some(field.to_string()),
        }
    }
}

impl DeError {
    /// Attaches `span` unless a deeper node already did.
    fn at(mut self, span: &Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span.clone());
        }
        self
    }
}

/// Deserialises `T` from a value node.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, DeError> {
    T::deserialize(ValueDe(value)).map_err(|e| e.at(&value.span))
}

/// The deserializer: a borrowed node.
pub struct ValueDe<'a>(pub &'a Value);

impl<'de, 'a> de::Deserializer<'de> for ValueDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = &self.0.span;
        let r = match &self.0.kind {
            Kind::String(s) | Kind::Datetime(s) => visitor.visit_str(s),
            Kind::Int(i) => visitor.visit_i64(*i),
            Kind::Float(f) => visitor.visit_f64(*f),
            Kind::Bool(b) => visitor.visit_bool(*b),
            Kind::Array(items) => visitor.visit_seq(SeqDe {
                items: items.iter(),
            }),
            Kind::Map(m) => visitor.visit_map(MapDe {
                entries: m.entries.iter(),
                pending: None,
            }),
        };
        r.map_err(|e| e.at(span))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.0.kind {
            Kind::String(s) => visitor
                .visit_enum(s.to_ascii_lowercase().into_deserializer())
                .map_err(|e: DeError| e.at(&self.0.span)),
            _ => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Sequence access over an array node.
struct SeqDe<'a> {
    items: std::slice::Iter<'a, Value>,
}

impl<'de, 'a> de::SeqAccess<'de> for SeqDe<'a> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(v) => seed
                .deserialize(ValueDe(v))
                .map(Some)
                .map_err(|e| e.at(&v.span)),
            None => Ok(None),
        }
    }
}

/// Map access over a map node: keys lowercased, variable definitions skipped.
struct MapDe<'a> {
    entries: std::slice::Iter<'a, Entry>,
    pending: Option<&'a Entry>,
}

impl<'de, 'a> de::MapAccess<'de> for MapDe<'a> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        for entry in self.entries.by_ref() {
            if entry.used_as_variable {
                continue;
            }
            self.pending = Some(entry);
            let key: de::value::StringDeserializer<DeError> =
                entry.key.to_ascii_lowercase().into_deserializer();
            return seed
                .deserialize(key)
                .map(Some)
                .map_err(|e| e.at(&entry.key_span));
        }
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        match self.pending.take() {
            Some(entry) => seed
                .deserialize(ValueDe(&entry.value))
                .map_err(|e| e.at(&entry.value.span)),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::value::Map;
    use serde::Deserialize;

    fn at(line: u32) -> Span {
        Span {
            file: "t.conf".into(),
            line,
            col: 1,
        }
    }

    fn v(kind: Kind, line: u32) -> Value {
        Value::new(kind, at(line))
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Small {
        #[serde(alias = "maximum")]
        max: Option<i64>,
        name: Option<String>,
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        let mut m = Map::default();
        for (k, val) in entries {
            let line = val.span.line;
            m.insert(Entry {
                key: k.into(),
                key_span: at(line),
                value: val,
                used_as_variable: false,
            });
        }
        v(Kind::Map(m), 1)
    }

    #[test]
    fn scalars_and_spans() {
        assert_eq!(from_value::<u32>(&v(Kind::Int(5), 1)), Ok(5));
        let e = from_value::<u32>(&v(Kind::String("x".into()), 7)).unwrap_err();
        assert_eq!(e.span.unwrap().line, 7);
        assert_eq!(e.message, "expected u32, got string \"x\"");
        assert!(from_value::<u32>(&v(Kind::Int(-1), 1)).is_err());
        assert_eq!(
            from_value::<Vec<String>>(&v(Kind::Array(vec![v(Kind::String("a".into()), 2)]), 1)),
            Ok(vec!["a".to_string()])
        );
    }

    #[test]
    fn structs_case_insensitive_with_aliases() {
        let m = map(vec![
            ("MAXIMUM", v(Kind::Int(3), 2)),
            ("Name", v(Kind::String("n".into()), 3)),
        ]);
        assert_eq!(
            from_value::<Small>(&m),
            Ok(Small {
                max: Some(3),
                name: Some("n".into())
            })
        );
        let bad = map(vec![("max", v(Kind::String("x".into()), 4))]);
        assert_eq!(from_value::<Small>(&bad).unwrap_err().span.unwrap().line, 4);
        let unknown = map(vec![("zzz", v(Kind::Int(1), 5))]);
        let e = from_value::<Small>(&unknown).unwrap_err();
        assert_eq!(e.unknown_field.as_deref(), Some("zzz"));
        assert_eq!(e.span.unwrap().line, 5);
    }
}
