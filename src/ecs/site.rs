//! The two Alibaba Cloud sites and what each one's ECS API accepts. The China site (aliyun.com)
//! and the international site (alibabacloud.com) serve the same actions with different rules;
//! the site belongs to the account, not to a region (bss.md §1). Without a declared site,
//! renewctl allows only what both accept.
//!
//! Sources (ecs-api.md §3.4, §3.5, §3.6, §6; the API reference pages of RenewInstance and
//! ModifyInstanceAutoRenewAttribute, and the official SDK request models):
//! - RenewInstance `Period`: international `Month` 1–9 or 12; China also `Month` 24, 36, 48, 60
//!   and `Week` 1–4.
//! - ModifyInstanceAutoRenewAttribute: `Week` (Duration 1–4) on the China site only; `Month` 1, 2,
//!   3, 6, 12, 24, 36, 48, 60 and `Year` 1–5 on both.
//! - DescribeRenewalPrice answers in CNY on the China site and in USD on the international one.
//! - The automatic renewal charge: the API page and the China site say 08:00 UTC+8 nine days
//!   before expiry, retried daily; the international site's "enable auto-renewal" page says the
//!   first attempt is three days before expiry. Each site's own page is what renewctl shows.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An Alibaba Cloud site.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Site {
    /// The China site, aliyun.com: prices in CNY.
    China,
    /// The international site, alibabacloud.com: prices in USD.
    International,
}

/// RenewInstance `Period` with `PeriodUnit=Month`, per site.
const CHINA_RENEW_MONTHS: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36, 48, 60];
const BOTH_RENEW_MONTHS: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 12];
/// RenewInstance `Period` with `PeriodUnit=Week` (China only).
const CHINA_RENEW_WEEKS: &[u32] = &[1, 2, 3, 4];
/// ModifyInstanceAutoRenewAttribute `Duration` values per `PeriodUnit`.
pub const AUTO_RENEW_MONTHS: &[u32] = &[1, 2, 3, 6, 12, 24, 36, 48, 60];
pub const AUTO_RENEW_YEARS: &[u32] = &[1, 2, 3, 4, 5];
const CHINA_AUTO_RENEW_WEEKS: &[u32] = &[1, 2, 3, 4];

/// When the automatic renewal is charged, as a site's own page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeRule {
    /// Days before the expiry date of the first attempt (at 08:00 UTC+8), then daily.
    pub days_before: i64,
    /// The page the rule comes from.
    pub source: &'static str,
}

impl Site {
    pub const ALL: [Site; 2] = [Site::China, Site::International];

    /// As written in renewal.yaml and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Site::China => "china",
            Site::International => "international",
        }
    }

    /// As shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Site::China => "the China site (aliyun.com)",
            Site::International => "the international site (alibabacloud.com)",
        }
    }

    pub fn parse(text: &str) -> Option<Site> {
        Site::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(text.trim()))
    }

    /// The currency DescribeRenewalPrice answers in (ecs-api.md §3.5).
    pub fn currency(self) -> &'static str {
        match self {
            Site::China => "CNY",
            Site::International => "USD",
        }
    }

    /// The site whose prices are in `currency`, if one is.
    pub fn of_currency(currency: &str) -> Option<Site> {
        Site::ALL
            .into_iter()
            .find(|s| s.currency().eq_ignore_ascii_case(currency))
    }

    /// The site's own rule for the automatic renewal charge.
    pub fn charge_rule(self) -> ChargeRule {
        match self {
            Site::China => ChargeRule {
                days_before: 9,
                source: "ModifyInstanceAutoRenewAttribute API page (China site)",
            },
            Site::International => ChargeRule {
                days_before: 3,
                source: "\"Enable auto-renewal\" page of the international site",
            },
        }
    }

    /// The BSS OpenAPI endpoint of the site (bss.md §1).
    pub fn bss_endpoint(self) -> &'static str {
        match self {
            Site::China => "business.aliyuncs.com",
            Site::International => "business.ap-southeast-1.aliyuncs.com",
        }
    }
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The charge rule when no site is declared: the earlier (the API page's nine days), so that a
/// warning about a late auto-renewal is never given too late.
pub fn charge_rule(site: Option<Site>) -> ChargeRule {
    site.unwrap_or(Site::China).charge_rule()
}

/// RenewInstance `Period` values with `PeriodUnit=Month` that `site` accepts (both sites' when
/// `None`).
pub fn renew_months(site: Option<Site>) -> &'static [u32] {
    match site {
        Some(Site::China) => CHINA_RENEW_MONTHS,
        _ => BOTH_RENEW_MONTHS,
    }
}

/// RenewInstance `Period` values with `PeriodUnit=Week` that `site` accepts.
pub fn renew_weeks(site: Option<Site>) -> &'static [u32] {
    match site {
        Some(Site::China) => CHINA_RENEW_WEEKS,
        _ => &[],
    }
}

/// ModifyInstanceAutoRenewAttribute `Duration` values with `PeriodUnit=Week` that `site`
/// accepts.
pub fn auto_renew_weeks(site: Option<Site>) -> &'static [u32] {
    match site {
        Some(Site::China) => CHINA_AUTO_RENEW_WEEKS,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_site_only_what_both_accept() {
        assert_eq!(renew_months(None), renew_months(Some(Site::International)));
        assert!(!renew_months(None).contains(&24));
        assert!(renew_months(Some(Site::China)).contains(&60));
        assert!(renew_weeks(None).is_empty());
        assert!(auto_renew_weeks(Some(Site::International)).is_empty());
        assert_eq!(auto_renew_weeks(Some(Site::China)), &[1, 2, 3, 4]);
        // Every value both accept is one the China site accepts.
        for m in renew_months(None) {
            assert!(renew_months(Some(Site::China)).contains(m));
        }
    }

    #[test]
    fn sites_read_and_price() {
        assert_eq!(Site::parse("China"), Some(Site::China));
        assert_eq!(Site::parse("international"), Some(Site::International));
        assert_eq!(Site::parse("intl"), None);
        assert_eq!(Site::of_currency("usd"), Some(Site::International));
        assert_eq!(Site::of_currency("EUR"), None);
        assert_eq!(charge_rule(None).days_before, 9);
        assert_eq!(charge_rule(Some(Site::International)).days_before, 3);
    }
}
