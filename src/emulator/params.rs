//! Request parameters as the gateway sees them: decoded from the query string and from an
//! `application/x-www-form-urlencoded` body (`+` is a space, `%XX` a byte), merged in that order,
//! and typed accessors that turn a bad value into the API's own validation error.
//!
//! Decoding is lenient on purpose, like a real web server: a malformed `%` sequence is kept
//! literally and invalid UTF-8 becomes U+FFFD, so no input can make it fail. Whether a request is
//! authentic is not decided here (see `verify/`).

use super::wire::ApiError;

/// The decoded parameters of one request, in arrival order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Decodes a raw query string (without the leading `?`).
    pub(crate) fn from_query(raw: &str) -> Params {
        let mut params = Params::default();
        params.extend_encoded(raw.as_bytes());
        params
    }

    /// Builds parameters from already-decoded pairs (tests and vectors).
    #[cfg(test)]
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        Params {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// Appends the parameters of a form-encoded body. Query parameters keep precedence.
    pub(crate) fn extend_encoded(&mut self, encoded: &[u8]) {
        self.pairs.extend(
            form_urlencoded::parse(encoded)
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }

    /// The first value of `name`. A repeated parameter is read once, the way a servlet-style
    /// gateway does; the signature is computed over the same de-duplicated set.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Each parameter name once (first value), in arrival order.
    pub(crate) fn unique(&self) -> Vec<(&str, &str)> {
        let mut seen = std::collections::HashSet::new();
        self.pairs
            .iter()
            .filter(|(k, _)| seen.insert(k.as_str()))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// A value that must be present and not empty, else `MissingParameter`.
    pub(crate) fn required(&self, name: &str) -> Result<&str, ApiError> {
        match self.get(name) {
            Some(value) if !value.trim().is_empty() => Ok(value),
            _ => Err(ApiError::missing_parameter(name)),
        }
    }

    /// A value that is absent when empty (the SDKs send nothing for unset fields, but hand-made
    /// URLs often carry `Name=`).
    pub(crate) fn optional(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// An `Integer` parameter. A value that is not a decimal integer is rejected the way the
    /// gateway rejects a type mismatch.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) => text
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_parameter(name, text)),
        }
    }

    /// A `Boolean` parameter. The SDKs send Python's `True`/`False` and the docs show
    /// `true`/`false`; both are accepted (ecs-api.md §2.1 leaves case-sensitivity unconfirmed, and
    /// the official SDK's own spelling must work).
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.optional(name) {
            None => Ok(None),
            Some(text) if text.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(text) if text.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(text) => Err(ApiError::invalid_parameter(name, text)),
        }
    }

    /// All pairs whose name starts with `prefix` (e.g. `Tag.`), for indexed list parameters.
    pub(crate) fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.unique()
            .into_iter()
            .filter(move |(k, _)| k.starts_with(prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent_and_survives_garbage() {
        let params = Params::from_query("a=x+y%2Bz&b=%E4%B8%AD&c=%zz%&d=%FF&e");
        assert_eq!(params.get("a"), Some("x y+z"));
        assert_eq!(params.get("b"), Some("中"));
        assert_eq!(params.get("c"), Some("%zz%"));
        assert_eq!(params.get("d"), Some("\u{fffd}"));
        assert_eq!(params.get("e"), Some(""));
    }

    #[test]
    fn query_wins_over_body_and_first_value_wins() {
        let mut params = Params::from_query("a=1&a=2");
        params.extend_encoded(b"a=3&b=4");
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), Some("4"));
        assert_eq!(params.unique(), vec![("a", "1"), ("b", "4")]);
    }

    #[test]
    fn typed_accessors_reject_bad_values_with_api_codes() {
        let params = Params::from_query("n=12&bad=1x&t=True&f=false&x=maybe&empty=");
        assert_eq!(params.integer("n").ok().flatten(), Some(12));
        assert_eq!(params.integer("empty").ok().flatten(), None);
        assert_eq!(
            params.integer("bad").err().map(|e| e.code),
            Some("InvalidParameter".to_owned())
        );
        assert_eq!(params.boolean("t").ok().flatten(), Some(true));
        assert_eq!(params.boolean("f").ok().flatten(), Some(false));
        assert!(params.boolean("x").is_err());
        assert_eq!(
            params.required("empty").err().map(|e| e.code),
            Some("MissingParameter".to_owned())
        );
    }
}
