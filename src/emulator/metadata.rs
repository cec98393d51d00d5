//! The ECS instance metadata service, the part renewctl reads (ecs-api.md §8.4):
//! `PUT /latest/api/token` (hardened mode, IMDSv2), `GET /latest/meta-data/ram/security-credentials/`
//! (the attached role's name) and `GET …/security-credentials/<role>` (its temporary credentials,
//! `Code: Success`, valid 6 hours, the same ones until an hour before they expire). The keys are
//! registered like STS-issued ones, so the ECS API accepts them.
//!
//! Served on the emulator's listener under `/latest/`; a client reaches it through
//! `RENEWCTL_METADATA_ENDPOINT`. Without `metadata:` in the fleet file every path is 404, as on a
//! machine with no role. Answers are plain text or JSON like the real service's, not API errors.

use std::collections::VecDeque;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::fleet::{Metadata, MetadataMode};
use super::keys::{IssuedCredentials, KeyStore};

const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TTL_HEADER: &str = "x-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aliyun-ecs-metadata-token";

/// How long role credentials live, and how long before that new ones are handed out.
const LIFETIME: SignedDuration = SignedDuration::from_hours(6);
const ROTATE_BEFORE: SignedDuration = SignedDuration::from_hours(1);

/// Tokens remembered at most.
const TOKEN_MEMORY: usize = 10_000;

/// What the service answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MetadataAnswer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

fn text(status: u16, body: &str) -> MetadataAnswer {
    MetadataAnswer {
        status,
        content_type: "text/plain",
        body: body.as_bytes().to_vec(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials<'a> {
    access_key_id: &'a str,
    access_key_secret: &'a str,
    security_token: &'a str,
    expiration: String,
    last_updated: String,
    code: &'static str,
}

/// The service of one emulated instance.
pub(crate) struct MetadataService {
    config: Option<Metadata>,
    tokens: Mutex<VecDeque<String>>,
    current: Mutex<Option<(IssuedCredentials, Timestamp)>>,
}

impl MetadataService {
    pub(crate) fn new(config: Option<Metadata>) -> MetadataService {
        MetadataService {
            config,
            tokens: Mutex::new(VecDeque::new()),
            current: Mutex::new(None),
        }
    }

    /// Answers `method path` with `headers` (lower-case names).
    pub(crate) fn answer(
        &self,
        keys: &KeyStore,
        method: &str,
        path: &str,
        header: impl Fn(&str) -> Option<String>,
        now: Timestamp,
    ) -> MetadataAnswer {
        let Some(config) = &self.config else {
            return text(404, "Not Found");
        };
        if path == TOKEN_PATH {
            if config.mode == MetadataMode::V1Only {
                return text(404, "Not Found");
            }
            if method != "PUT" {
                return text(405, "Method Not Allowed");
            }
            let ttl_ok = header(TTL_HEADER)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .is_some_and(|ttl| (1..=21_600).contains(&ttl));
            if !ttl_ok {
                return text(
                    400,
                    "Bad Request: X-aliyun-ecs-metadata-token-ttl-seconds must be 1 to 21600",
                );
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
            tokens.push_back(token.clone());
            while tokens.len() > TOKEN_MEMORY {
                tokens.pop_front();
            }
            return text(200, &token);
        }
        if method != "GET" {
            return text(405, "Method Not Allowed");
        }
        let Some(rest) = path.strip_prefix(CREDENTIALS_PATH) else {
            return text(404, "Not Found");
        };
        match header(TOKEN_HEADER) {
            Some(token) => {
                let known = self
                    .tokens
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(&token);
                if !known {
                    return text(401, "Unauthorized");
                }
            }
            None if config.mode == MetadataMode::Hardened => return text(401, "Unauthorized"),
            None => {}
        }
        if rest.is_empty() {
            return text(200, &config.role);
        }
        if rest != config.role {
            return text(404, "Not Found");
        }
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = current.as_ref().is_some_and(|(c, _)| {
            c.expires_at
                .checked_sub(ROTATE_BEFORE)
                .is_ok_and(|rotate| now < rotate)
        });
        if !fresh {
            let expires_at = now.checked_add(LIFETIME).unwrap_or(now);
            *current = Some((keys.issue(expires_at), now));
        }
        let Some((credentials, updated)) = current.as_ref() else {
            return text(500, "Internal Server Error");
        };
        let body = serde_json::to_vec(&RoleCredentials {
            access_key_id: &credentials.access_key_id,
            access_key_secret: &credentials.access_key_secret,
            security_token: &credentials.security_token,
            expiration: credentials
                .expires_at
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            last_updated: updated.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            code: "Success",
        })
        .unwrap_or_default();
        MetadataAnswer {
            status: 200,
            content_type: "application/json",
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-23T12:00:00Z".parse().expect("time")
    }

    fn service(mode: MetadataMode) -> (MetadataService, KeyStore) {
        (
            MetadataService::new(Some(Metadata {
                role: "EcsRenewer".to_string(),
                mode,
            })),
            KeyStore::new(Vec::new()),
        )
    }

    fn no_headers(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn hardened_mode_needs_the_token_and_serves_the_role_credentials() {
        let (svc, keys) = service(MetadataMode::Hardened);
        let get = |path: &str, token: Option<String>| {
            svc.answer(
                &keys,
                "GET",
                path,
                |h| (h == TOKEN_HEADER).then(|| token.clone()).flatten(),
                now(),
            )
        };
        assert_eq!(get(CREDENTIALS_PATH, None).status, 401);
        assert_eq!(
            svc.answer(&keys, "PUT", TOKEN_PATH, no_headers, now())
                .status,
            400
        );
        let token = svc.answer(
            &keys,
            "PUT",
            TOKEN_PATH,
            |h| (h == TTL_HEADER).then(|| "21600".to_string()),
            now(),
        );
        assert_eq!(token.status, 200);
        let token = String::from_utf8(token.body).expect("text");
        assert_eq!(get(CREDENTIALS_PATH, Some("forged".into())).status, 401);
        let role = get(CREDENTIALS_PATH, Some(token.clone()));
        assert_eq!((role.status, role.body), (200, b"EcsRenewer".to_vec()));
        let creds = get(
            &format!("{CREDENTIALS_PATH}EcsRenewer"),
            Some(token.clone()),
        );
        let json: serde_json::Value = serde_json::from_slice(&creds.body).expect("json");
        assert_eq!(json["Code"], "Success");
        assert_eq!(json["Expiration"], "2026-11-23T18:00:00Z");
        let id = json["AccessKeyId"].as_str().expect("id");
        assert!(
            keys.find(id).is_some(),
            "the ECS API accepts the role's key"
        );
        assert_eq!(
            get(&format!("{CREDENTIALS_PATH}Other"), Some(token)).status,
            404
        );
    }

    #[test]
    fn old_images_have_no_token_api_and_no_metadata_means_404() {
        let (svc, keys) = service(MetadataMode::V1Only);
        assert_eq!(
            svc.answer(&keys, "PUT", TOKEN_PATH, |_| Some("60".into()), now())
                .status,
            404
        );
        assert_eq!(
            svc.answer(&keys, "GET", CREDENTIALS_PATH, no_headers, now())
                .status,
            200
        );
        let none = MetadataService::new(None);
        assert_eq!(
            none.answer(&keys, "GET", CREDENTIALS_PATH, no_headers, now())
                .status,
            404
        );
    }
}
