//! What a user may see about the credentials in use (`renewctl whoami`,
//! `--debug-credentials`): the link that supplied them and by what configuration, the access key
//! id partly masked, whether they are temporary and when they expire, and what each link before
//! it said. Never the secret or the token: this view is built without them. Pure.

use jiff::Timestamp;

use super::chain::Resolution;
use super::provider::{Lease, REFRESH_EARLY};

/// Shows enough of an access key id to tell two keys apart, not enough to use it in a leak
/// search: the first four and last four characters of ids longer than twelve, the first two of
/// shorter ones.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() > 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        let head: String = chars.iter().take(2).collect();
        format!("{head}****")
    }
}

/// The view of one resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub link: &'static str,
    pub detail: String,
    pub masked_key_id: String,
    pub security_token: bool,
    pub expires_at: Option<Timestamp>,
    pub tried: Vec<(&'static str, String)>,
}

impl Identity {
    pub fn of(resolution: &Resolution, lease: &Lease) -> Identity {
        Identity {
            link: resolution.link.name(),
            detail: resolution.detail.clone(),
            masked_key_id: mask_key_id(&lease.credentials.access_key_id),
            security_token: lease.credentials.security_token.is_some(),
            expires_at: lease.expires_at,
            tried: resolution
                .tried
                .iter()
                .map(|t| (t.link.name(), t.outcome.clone()))
                .collect(),
        }
    }

    /// Lines for a terminal or a log, ending with a newline.
    pub fn render(&self) -> String {
        let expires = match (self.expires_at, self.security_token) {
            (Some(at), _) => format!(
                "{} (temporary; refreshed {} minutes before)",
                at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                REFRESH_EARLY.as_mins()
            ),
            (None, true) => {
                "unknown (an STS token given as is; renewctl cannot refresh it)".to_string()
            }
            (None, false) => "never (a long-lived access key)".to_string(),
        };
        let mut out = format!(
            "link: {}\nsource: {}\naccess key id: {}\nsecurity token: {}\nexpires: {expires}\ntried:\n",
            self.link,
            self.detail,
            self.masked_key_id,
            if self.security_token { "yes" } else { "no" },
        );
        for (link, outcome) in &self.tried {
            out.push_str(&format!("  - {link}: {outcome}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_masked() {
        assert_eq!(mask_key_id("LTAI5tExampleKeyId9xQ"), "LTAI****d9xQ");
        assert_eq!(mask_key_id("LTAIdemo"), "LT****");
        assert_eq!(mask_key_id(""), "****");
    }
}
