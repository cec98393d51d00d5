//! The two mutating requests, typed (ecs-api.md §3.4, §3.6), and the one place their wire
//! parameters are made from the types: the client sends exactly [`Mutation::params`], and a
//! saved plan records the same parameters (read back by [`Mutation::from_params`], which
//! refuses anything the types cannot say).
//!
//! ModifyInstanceAutoRenewAttribute always sends `RenewalStatus` (it decides) and `AutoRenew`
//! agreeing with it, and `Duration` and `PeriodUnit` only with `AutoRenewal`, as Terraform's
//! provider does. RenewInstance sends `Period`, `PeriodUnit` and its `ClientToken`, and no
//! `RegionId` (the action has none: the region is the endpoint's).

use std::collections::BTreeMap;

use super::action::{ApiAction, MAX_BATCH};
use super::period::{AutoRenewPeriod, AutoRenewSetting, PeriodUnit, RenewalPeriod};
use super::token::ClientToken;

/// One mutating request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// ModifyInstanceAutoRenewAttribute for up to 100 instances of one region.
    ModifyAutoRenew {
        region: String,
        ids: Vec<String>,
        setting: AutoRenewSetting,
    },
    /// RenewInstance of one instance: spends money.
    Renew {
        region: String,
        id: String,
        period: RenewalPeriod,
        token: ClientToken,
    },
}

impl Mutation {
    pub fn action(&self) -> ApiAction {
        match self {
            Mutation::ModifyAutoRenew { .. } => ApiAction::ModifyInstanceAutoRenewAttribute,
            Mutation::Renew { .. } => ApiAction::RenewInstance,
        }
    }

    /// The region whose endpoint takes it.
    pub fn region(&self) -> &str {
        match self {
            Mutation::ModifyAutoRenew { region, .. } | Mutation::Renew { region, .. } => region,
        }
    }

    /// The instances it names.
    pub fn ids(&self) -> Vec<&str> {
        match self {
            Mutation::ModifyAutoRenew { ids, .. } => ids.iter().map(String::as_str).collect(),
            Mutation::Renew { id, .. } => vec![id.as_str()],
        }
    }

    /// The business parameters, by name: what goes on the wire and into a saved plan.
    pub fn params(&self) -> BTreeMap<String, String> {
        let mut params = BTreeMap::new();
        let mut put = |name: &str, value: String| {
            params.insert(name.to_string(), value);
        };
        match self {
            Mutation::ModifyAutoRenew {
                region,
                ids,
                setting,
            } => {
                put("RegionId", region.clone());
                put("InstanceId", ids.join(","));
                put("RenewalStatus", setting.status().to_string());
                put("AutoRenew", setting.period().is_some().to_string());
                if let Some(period) = setting.period() {
                    put("Duration", period.duration.to_string());
                    put("PeriodUnit", period.unit.as_api().to_string());
                }
            }
            Mutation::Renew {
                id, period, token, ..
            } => {
                put("InstanceId", id.clone());
                put("Period", period.count.to_string());
                put("PeriodUnit", period.unit.as_api().to_string());
                put("ClientToken", token.as_str().to_string());
            }
        }
        params
    }

    /// Reads a request back from its action, region and parameters (a saved plan); refuses
    /// parameters the types cannot say, so nothing is sent that `params` would not make.
    pub fn from_params(
        action: ApiAction,
        region: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Mutation, String> {
        let get = |name: &str| {
            params
                .get(name)
                .map(String::as_str)
                .ok_or_else(|| format!("{action} has no {name}"))
        };
        let number = |name: &str| -> Result<u32, String> {
            get(name)?
                .parse()
                .map_err(|_| format!("{action}'s {name} is not a number"))
        };
        let unit = |name: &str| {
            let text = get(name)?;
            PeriodUnit::from_api(text)
                .filter(|u| u.as_api() == text)
                .ok_or_else(|| format!("{action}'s {name} {text:?} is not Week, Month or Year"))
        };
        let mutation = match action {
            ApiAction::ModifyInstanceAutoRenewAttribute => {
                let ids: Vec<String> = get("InstanceId")?.split(',').map(str::to_string).collect();
                if ids.is_empty() || ids.len() > MAX_BATCH || ids.iter().any(String::is_empty) {
                    return Err(format!("{action} names 1 to {MAX_BATCH} instances"));
                }
                let setting = match get("RenewalStatus")? {
                    "AutoRenewal" => AutoRenewSetting::Auto(AutoRenewPeriod {
                        duration: number("Duration")?,
                        unit: unit("PeriodUnit")?,
                    }),
                    "Normal" => AutoRenewSetting::Manual,
                    "NotRenewal" => AutoRenewSetting::Never,
                    other => return Err(format!("{action}'s RenewalStatus {other:?} is unknown")),
                };
                if get("RegionId")? != region {
                    return Err(format!("{action}'s RegionId is not its region {region}"));
                }
                Mutation::ModifyAutoRenew {
                    region: region.to_string(),
                    ids,
                    setting,
                }
            }
            ApiAction::RenewInstance => Mutation::Renew {
                region: region.to_string(),
                id: get("InstanceId")?.to_string(),
                period: RenewalPeriod {
                    count: number("Period")?,
                    unit: unit("PeriodUnit")?,
                },
                token: ClientToken::from_recorded(get("ClientToken")?)?,
            },
        };
        // Round trip: exactly the parameters it would send, nothing more or less.
        if &mutation.params() != params {
            return Err(format!(
                "{action} carries parameters renewctl does not send"
            ));
        }
        Ok(mutation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::TokenAttempt;

    fn renew() -> Mutation {
        Mutation::Renew {
            region: "cn-hangzhou".into(),
            id: "i-1".into(),
            period: RenewalPeriod {
                count: 2,
                unit: PeriodUnit::Month,
            },
            token: ClientToken::for_renewal(
                "i-1",
                "2026-12-01T16:00:00Z".parse().expect("time"),
                TokenAttempt::FIRST,
            ),
        }
    }

    #[test]
    fn parameters_are_those_the_api_documents_and_read_back_the_same() {
        let auto = Mutation::ModifyAutoRenew {
            region: "cn-hangzhou".into(),
            ids: vec!["i-1".into(), "i-2".into()],
            setting: AutoRenewSetting::Auto(AutoRenewPeriod {
                duration: 1,
                unit: PeriodUnit::Year,
            }),
        };
        let params = auto.params();
        let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            pairs,
            [
                "AutoRenew=true",
                "Duration=1",
                "InstanceId=i-1,i-2",
                "PeriodUnit=Year",
                "RegionId=cn-hangzhou",
                "RenewalStatus=AutoRenewal"
            ]
        );
        let manual = Mutation::ModifyAutoRenew {
            region: "cn-hangzhou".into(),
            ids: vec!["i-1".into()],
            setting: AutoRenewSetting::Manual,
        };
        assert!(!manual.params().contains_key("Duration"));
        assert_eq!(manual.params()["AutoRenew"], "false");
        for m in [auto, manual, renew()] {
            assert_eq!(
                Mutation::from_params(m.action(), m.region(), &m.params()),
                Ok(m.clone())
            );
        }
        assert!(!renew().params().contains_key("RegionId"));
    }

    #[test]
    fn parameters_the_types_cannot_say_are_refused() {
        let mut extra = renew().params();
        extra.insert("ExpectedRenewDay".into(), "5".into());
        let mut lower = renew().params();
        lower.insert("PeriodUnit".into(), "month".into());
        let mut token = renew().params();
        token.insert("ClientToken".into(), "令牌".into());
        for params in [extra, lower, token] {
            assert!(
                Mutation::from_params(ApiAction::RenewInstance, "cn-hangzhou", &params).is_err(),
                "{params:?}"
            );
        }
    }
}
