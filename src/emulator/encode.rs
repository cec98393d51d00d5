//! RFC 3986 percent-encoding exactly as both Alibaba Cloud signature schemes define it
//! (ecs-api.md §2.1 step 2): every byte outside `A-Z a-z 0-9 - _ . ~` becomes `%XX` with
//! upper-case hex, so a space is `%20` and never `+`.
//!
//! Only encoding lives here. Decoding request bytes is `params.rs`'s job, and nothing here is
//! shared with the client's signer (`src/cloud/`), so a bug in one cannot hide in the other.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes the UTF-8 bytes of `text`, leaving only the RFC 3986 unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn encodes_like_the_signature_spec() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("*~/+=,"), "%2A~%2F%2B%3D%2C");
        assert_eq!(percent_encode("中"), "%E4%B8%AD");
        assert_eq!(percent_encode("Az09-_.~"), "Az09-_.~");
        assert_eq!(
            percent_encode("2026-11-22T10:20:30Z"),
            "2026-11-22T10%3A20%3A30Z"
        );
    }
}
