//! Which site an account is on, asked of the account itself: the currency DescribeRenewalPrice
//! answers in is CNY on the China site and USD on the international one (ecs-api.md §3.5). A
//! declared site that disagrees with the account is refused before any call that costs money:
//! the sites accept different renewal periods and charge automatic renewals on different days,
//! so a plan made for one is not reviewed for the other.

use super::EngineError;
use crate::cloud::{BillingApi, EcsApi, InstanceQuery, Paging};
use crate::ecs::{PeriodUnit, PriceQuery, RenewalPeriod, Site};
use crate::plan::Plan;

/// What the account answered: its site, the currency that says so, and the instance asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub site: Site,
    /// What said so, for messages: `DescribeRenewalPrice of REGION/ID answered in USD`.
    pub evidence: String,
}

/// Asks the account for the price of renewing one of its subscription instances for a month,
/// region by region until one has such an instance. `Ok(None)` when none has (nothing to ask);
/// an error when a read fails or a price comes in a currency of neither site.
pub async fn probe<A: EcsApi>(api: &A, regions: &[String]) -> Result<Option<Probe>, EngineError> {
    for region in regions {
        let page = api
            .describe_instances(&InstanceQuery {
                region: region.clone(),
                paging: Paging::Page(1),
                prepaid_only: true,
                instance_ids: None,
            })
            .await?;
        let Some(instance) = page.instances.first() else {
            continue;
        };
        return ask(api, region, &instance.instance_id).await.map(Some);
    }
    Ok(None)
}

/// The site the price of renewing `instance_id` for a month says.
async fn ask<A: EcsApi>(api: &A, region: &str, instance_id: &str) -> Result<Probe, EngineError> {
    let month = PriceQuery::for_renewal(RenewalPeriod {
        count: 1,
        unit: PeriodUnit::Month,
    })
    .map_err(EngineError::Bug)?;
    let price = api
        .describe_renewal_price(region, instance_id, month)
        .await?;
    let site = Site::of_currency(&price.currency).ok_or_else(|| {
        EngineError::Bug(format!(
            "DescribeRenewalPrice of {instance_id} answered in {}, the currency of neither site \
             (CNY: China, USD: international); report it with the answer",
            price.currency
        ))
    })?;
    Ok(Probe {
        site,
        evidence: format!(
            "DescribeRenewalPrice of {region}/{instance_id} answered in {}",
            price.currency
        ),
    })
}

/// Asks BSS first (bss.md §1: the site belongs to the account; the other site's BSS endpoint
/// answers `NotApplicable`), then, when BSS cannot be read (no permission), the price of one
/// subscription instance (the currency says the site). `Ok(None)`: neither could tell.
pub async fn detect<A: EcsApi + BillingApi>(
    api: &A,
    regions: &[String],
) -> Result<Option<Probe>, EngineError> {
    let mut bss_error = None;
    for site in Site::ALL {
        match api.query_account_balance(site).await {
            Ok(balance) => {
                // An answer means this site's endpoint knows the account; its currency agrees.
                let answered = Site::of_currency(&balance.currency).unwrap_or(site);
                return Ok(Some(Probe {
                    site: answered,
                    evidence: format!(
                        "BSS QueryAccountBalance at {} answered, in {}",
                        site.bss_endpoint(),
                        balance.currency
                    ),
                }));
            }
            Err(err) if err.code() == Some("NotApplicable") => continue,
            Err(err) => {
                bss_error = Some(err);
                break;
            }
        }
    }
    match probe(api, regions).await {
        Ok(found) => Ok(found),
        Err(err) => Err(match bss_error {
            Some(bss) => EngineError::PlanSite(format!(
                "cannot tell the account's site: BSS answered {bss}, and {err}"
            )),
            None => err,
        }),
    }
}

/// Refuses `declared` when the account answers as the other site.
pub fn check(declared: Site, probe: &Probe) -> Result<(), EngineError> {
    if probe.site == declared {
        return Ok(());
    }
    Err(EngineError::OtherSite {
        declared,
        answered: probe.site,
        evidence: probe.evidence.clone(),
    })
}

/// How many renewals `check_plan` asks at most before it gives up.
const PROBES: usize = 5;

/// Before a plan's renewals are paid: the account must be on the site the plan was made for.
/// One renewal is priced once more (a read): those whose price the plan read first, skipping
/// `excluded` instances; the next one is asked when a read fails (the site is the account's, so
/// one answer is enough, and one troubled instance blocks nothing). Refused only when none of
/// the first few answers. A plan made without a site, or without renewals, has nothing to check:
/// a status change for a value one site refuses is refused by the API without charge.
pub async fn check_plan<A: EcsApi>(
    api: &A,
    plan: &Plan,
    excluded: &std::collections::BTreeMap<String, String>,
) -> Result<(), EngineError> {
    let Some(declared) = plan.site else {
        return Ok(());
    };
    let mut candidates: Vec<&crate::plan::Change> = plan
        .changes
        .iter()
        .filter(|c| c.renewal().is_some() && !excluded.contains_key(&c.instance_id))
        .collect();
    // Priced in the plan first: their price read worked once.
    candidates.sort_by_key(|c| c.renewal().and_then(|r| r.price.known()).is_none());
    let mut last_error = None;
    for change in candidates.into_iter().take(PROBES) {
        match ask(api, &change.region, &change.instance_id).await {
            Ok(probe) => return check(declared, &probe),
            Err(err) => last_error = Some(err),
        }
    }
    match last_error {
        None => Ok(()),
        Some(err) => Err(EngineError::PlanSite(format!(
            "cannot check that the account is on {} before paying ({err}): nothing was \
             applied; try again, or make the plan without `site` if the account may not read \
             prices",
            declared.label()
        ))),
    }
}

/// After pricing a plan: a declared site whose currency is not the one the prices came in.
pub fn check_prices(plan: &Plan) -> Result<(), EngineError> {
    let Some(declared) = plan.site else {
        return Ok(());
    };
    for change in &plan.changes {
        if let Some(price) = change.renewal().and_then(|r| r.price.known())
            && let Some(answered) = Site::of_currency(&price.currency)
            && answered != declared
        {
            return Err(EngineError::OtherSite {
                declared,
                answered,
                evidence: format!(
                    "DescribeRenewalPrice of {}/{} answered in {}",
                    change.region, change.instance_id, price.currency
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::{AccountBalance, ApiError, CallOutcome, InstancePage};
    use crate::ecs::{Mutation, Price};
    use crate::money::Amount;
    use crate::observed::RenewalAttribute;

    /// An account on the international site: the China BSS endpoint answers NotApplicable.
    struct International;

    fn refused(code: &str) -> ApiError {
        ApiError::Service {
            action: "QueryAccountBalance".into(),
            region: "bss".into(),
            http_status: 400,
            code: code.into(),
            message: "not applicable".into(),
            request_id: "r".into(),
        }
    }

    impl BillingApi for International {
        async fn query_account_balance(&self, site: Site) -> Result<AccountBalance, ApiError> {
            match site {
                Site::China => Err(refused("NotApplicable")),
                Site::International => Ok(AccountBalance {
                    available: Amount::from_units(10),
                    currency: "USD".into(),
                }),
            }
        }
    }

    impl EcsApi for International {
        async fn describe_instances(&self, _: &InstanceQuery) -> Result<InstancePage, ApiError> {
            Err(refused("Unexpected"))
        }
        async fn describe_auto_renew(
            &self,
            _: &str,
            _: &[String],
        ) -> Result<Vec<(String, RenewalAttribute)>, ApiError> {
            Err(refused("Unexpected"))
        }
        async fn execute(&self, _: &Mutation) -> Result<CallOutcome, ApiError> {
            Err(refused("Unexpected"))
        }
        async fn describe_renewal_price(
            &self,
            _: &str,
            _: &str,
            _: PriceQuery,
        ) -> Result<Price, ApiError> {
            Err(refused("Unexpected"))
        }
    }

    #[test]
    fn the_other_sites_bss_endpoint_answering_not_applicable_says_the_site() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let found = rt
            .block_on(detect(&International, &["ap-southeast-1".to_string()]))
            .expect("detected")
            .expect("a site");
        assert_eq!(found.site, Site::International);
        assert!(
            found
                .evidence
                .contains("business.ap-southeast-1.aliyuncs.com"),
            "{}",
            found.evidence
        );
        let err = check(Site::China, &found).unwrap_err().to_string();
        assert!(
            err.contains("the account is on the international site"),
            "{err}"
        );
    }
}
