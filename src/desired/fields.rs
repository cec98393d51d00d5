//! The keys and values the YAML model accepts, read from the model's own serde derives: the
//! lenient reader uses them to tell an unknown key from a known one and to suggest the nearest,
//! so the list can never fall behind a field added to the model.

use serde::Deserialize;
use serde::de::{self, Visitor};

/// A deserializer that only records the field or variant names the derived code announces.
struct Introspect<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for Introspect<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("introspection only"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("introspection only"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = variants;
        Err(de::Error::custom("introspection only"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// The keys a derived struct accepts (after `rename`), or its variants for an enum.
pub fn names<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut names));
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::{DesiredState, Limits, Protection, Renewal, RenewalPolicy, Selector};

    #[test]
    fn names_come_from_the_model() {
        assert_eq!(
            names::<DesiredState>(),
            [
                "version",
                "regions",
                "policies",
                "limits",
                "protect",
                "site",
                "endpoint_type",
                "endpoints",
                "watch",
                "notify"
            ]
        );
        assert_eq!(
            names::<Limits>(),
            ["max_renewals", "max_total_price", "currency"]
        );
        assert_eq!(names::<Protection>(), ["tags"]);
        assert!(names::<RenewalPolicy>().contains(&"match"));
        assert_eq!(names::<Selector>(), ["ids", "tags"]);
        assert_eq!(names::<Renewal>(), ["auto", "manual", "never"]);
    }
}
