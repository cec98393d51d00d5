//! The HTTP client for the ECS RPC API (reqwest with rustls and ring), the one real `EcsApi`.
//! It sends requests the way the current official SDK does (ecs-api.md §1): `POST /` with every
//! business parameter in the query string and an empty body, signed with ACS3-HMAC-SHA256 by
//! default or the older RPC HMAC-SHA1. Each attempt takes a token of its (region, action) rate
//! limit (`rate`), then a slot of the in-flight bound shared by all calls of one client, asks the
//! credentials provider for the current credentials (temporary ones are refreshed there), is
//! signed afresh (`request`), retried under the named policy (`retry`), and its answer decoded
//! into domain types or a typed error (`response`, `wire`). Each attempt and each call is logged
//! (tracing, target `renewctl::cloud::client`) with action, region, RequestId, latency and
//! outcome, never with the query, headers or credentials. Batching and paging decisions belong
//! to the callers (`observe`, `apply`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::cloud::BillingApi;
use crate::cloud::wire::{self, DescribeAutoRenewResponse, DescribeInstancesResponse};
use crate::cloud::wire_bss::{self, AccountBalance, QueryAccountBalanceResponse};
use crate::cloud::wire_price::{self, DescribeRenewalPriceResponse};
use crate::cloud::{CallOutcome, EcsApi, InstancePage, InstanceQuery, MAX_BATCH, Paging};
use crate::credentials::{Credentials, CredentialsProvider};
use crate::ecs::Site;
use crate::ecs::{Mutation, Price, PriceQuery};
use crate::observed::RenewalAttribute;
use crate::rpc::endpoint::{self, Routing, Target};
use crate::rpc::error::ApiError;
use crate::rpc::http::{USER_AGENT, describe_transport, install_tls_provider};
use crate::rpc::rate::RateLimiter;
use crate::rpc::request;
use crate::rpc::request::SignatureScheme;
use crate::rpc::response::{self, Answer, CallContext, Redactor};
use crate::rpc::retry::{self, Failure, RetryPolicy};

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `https://ecs.{region}.aliyuncs.com/` per region (the default).
    Regional,
    /// Every request to this base URL (`--endpoint`, e.g. the emulator). Plain `http://` only
    /// for loopback addresses.
    Fixed(String),
    /// Per region by these rules: VPC endpoints, hosts for special regions.
    Routed(Routing),
}

/// `Version` of the BSS OpenAPI (bss.md §1).
pub const BSS_VERSION: &str = "2017-12-14";

/// Everything the client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub endpoint: Endpoint,
    /// Asked for the current credentials before every attempt.
    pub credentials: CredentialsProvider,
    pub scheme: SignatureScheme,
    /// Requests in flight at once, across all regions and actions (`--parallelism`).
    pub max_in_flight: usize,
    /// Requests per second per (region, action) (`--max-rps`); `None` for no limit.
    pub max_rps: Option<f64>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub retry: RetryPolicy,
}

/// The real ECS client. Cloning it shares the connection pool and the in-flight bound.
#[derive(Debug, Clone)]
pub struct EcsClient {
    config: ClientConfig,
    http: reqwest::Client,
    /// The resolved `Endpoint::Fixed`; regional targets are resolved per call.
    fixed: Option<Target>,
    in_flight: Arc<Semaphore>,
    rate: Option<Arc<RateLimiter>>,
    /// The BSS endpoint (`--bss-endpoint`), when not the site's.
    bss: Option<String>,
}

impl EcsClient {
    /// Checks the configuration and builds the HTTP client. No request is sent.
    pub fn new(config: ClientConfig) -> Result<EcsClient, ApiError> {
        install_tls_provider();
        if let Some(fixed) = config.credentials.fixed_credentials() {
            check_credentials(fixed)?;
        }
        let fixed = match &config.endpoint {
            Endpoint::Regional | Endpoint::Routed(_) => None,
            Endpoint::Fixed(url) => Some(endpoint::fixed(url)?),
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect would re-send a signed request somewhere else: report it instead.
            .redirect(reqwest::redirect::Policy::none());
        if fixed.as_ref().is_some_and(|t| t.loopback) {
            // HTTP(S)_PROXY is honoured by default (deps.md §6.2); a proxy cannot reach our
            // loopback.
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(EcsClient {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            rate: config.max_rps.and_then(RateLimiter::new).map(Arc::new),
            fixed,
            http,
            bss: None,
            config,
        })
    }

    /// Sends BSS calls to this base URL instead of the site's BSS endpoint.
    pub fn with_bss_endpoint(mut self, url: Option<String>) -> Result<EcsClient, ApiError> {
        if let Some(url) = &url {
            endpoint::fixed(url)?;
        }
        self.bss = url;
        Ok(self)
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Where requests for `region` go.
    pub fn target(&self, region: &str) -> Result<Target, ApiError> {
        match (&self.fixed, &self.config.endpoint) {
            (Some(target), _) => Ok(target.clone()),
            (None, Endpoint::Routed(routing)) => routing.target(region),
            (None, _) => endpoint::regional(region),
        }
    }

    /// One call with its retries: `convert` turns the decoded answer into what the caller wants;
    /// its error becomes a decode error.
    async fn call<T, U>(
        &self,
        region: &str,
        action: &str,
        params: &[(String, String)],
        convert: impl Fn(T) -> Result<U, String> + Sync,
    ) -> Result<U, ApiError>
    where
        T: Answer + Send + 'static,
        U: Send,
    {
        let target = self.target(region)?;
        self.call_at(
            &target,
            request::API_VERSION,
            region,
            action,
            params,
            convert,
        )
        .await
    }

    /// [`call`](Self::call) to `target` for the product of API `version` (BSS, whose endpoint
    /// is the account's site's, not a region's); `region` labels logs and rate buckets.
    async fn call_at<T, U>(
        &self,
        target: &Target,
        version: &str,
        region: &str,
        action: &str,
        params: &[(String, String)],
        convert: impl Fn(T) -> Result<U, String> + Sync,
    ) -> Result<U, ApiError>
    where
        T: Answer + Send + 'static,
        U: Send,
    {
        let has_token = params
            .iter()
            .any(|(name, value)| name == "ClientToken" && !value.is_empty());
        let ctx = CallContext { action, region };
        let started = Instant::now();
        let mut attempts = 0;
        let result = retry::run(
            &self.config.retry,
            action,
            has_token,
            retry::random01,
            |number| {
                attempts = number;
                self.attempt(target, version, ctx, number, params, &convert)
            },
        )
        .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::info!(action, region, attempts, latency_ms, "call succeeded"),
            Err(error) => tracing::info!(
                action,
                region,
                attempts,
                latency_ms,
                code = error.code().unwrap_or("-"),
                "call failed: {error}"
            ),
        }
        result
    }

    /// One attempt: sign with a fresh nonce and timestamp, send, decode.
    async fn attempt<T, U>(
        &self,
        target: &Target,
        version: &str,
        ctx: CallContext<'_>,
        number: u32,
        params: &[(String, String)],
        convert: &(impl Fn(T) -> Result<U, String> + Sync),
    ) -> Result<U, Failure>
    where
        T: Answer + Send + 'static,
    {
        // The rate token first: a request waiting for its slot must not hold an in-flight one.
        if let Some(rate) = &self.rate {
            let waited = rate.acquire(ctx.region, ctx.action).await;
            if !waited.is_zero() {
                tracing::trace!(
                    action = ctx.action,
                    region = ctx.region,
                    waited_ms = waited.as_millis() as u64,
                    "rate limit"
                );
            }
        }
        let permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| ApiError::Config("the ECS client was shut down".to_string()))?;
        let credentials = self
            .config
            .credentials
            .current()
            .await
            .map_err(|e| ApiError::Config(format!("{} in {}: {e}", ctx.action, ctx.region)))?;
        let started = Instant::now();
        let result = self
            .exchange(target, version, ctx, &credentials, params, convert, permit)
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok((_, request_id)) => tracing::debug!(
                action = ctx.action,
                region = ctx.region,
                attempt = number,
                request_id = request_id.as_deref().unwrap_or("-"),
                latency_ms,
                outcome = "ok",
                "request"
            ),
            Err(failure) => tracing::debug!(
                action = ctx.action,
                region = ctx.region,
                attempt = number,
                request_id = failure_request_id(&failure.error),
                latency_ms,
                outcome = failure.error.code().unwrap_or(outcome_word(&failure.error)),
                "request failed: {}",
                failure.error
            ),
        }
        result.map(|(answer, _)| answer)
    }

    /// Signs and sends one attempt and decodes its answer; with the answer, the RequestId the
    /// service put in its `x-acs-request-id` header, for the log.
    #[allow(clippy::too_many_arguments)]
    async fn exchange<T, U>(
        &self,
        target: &Target,
        version: &str,
        ctx: CallContext<'_>,
        credentials: &Credentials,
        params: &[(String, String)],
        convert: &(impl Fn(T) -> Result<U, String> + Sync),
        permit: SemaphorePermit<'_>,
    ) -> Result<(U, Option<String>), Failure>
    where
        T: Answer + Send + 'static,
    {
        let pairs: Vec<(&str, &str)> = params
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let signed = request::sign_request_with_version(
            self.config.scheme,
            version,
            ctx.action,
            &pairs,
            &target.host,
            credentials,
            self.config.credentials.now(),
            &uuid::Uuid::new_v4().to_string(),
        );
        // The query of an RPC request carries the signature, the Authorization header that of
        // an ACS3 one: keep both out of every message, even when a server echoes them.
        let mut redactor = Redactor::new(credentials).also(&signed.query);
        for (name, value) in &signed.headers {
            if *name == "authorization" {
                redactor = redactor.also(value);
            }
        }
        let url =
            reqwest::Url::parse(&format!("{}?{}", target.base, signed.query)).map_err(|_| {
                ApiError::Config(format!(
                    "{} in {}: could not form a request URL for {}",
                    ctx.action, ctx.region, target.base
                ))
            })?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        // The body is empty; say so like the SDK does (wire captures), since gateways may refuse
        // a POST without a length.
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        for (name, value) in &signed.headers {
            // Names are constants of `request`; a value can only be refused for control
            // characters in the access key id or token, and the value is never quoted.
            let value = HeaderValue::from_str(value).map_err(|_| {
                ApiError::Config(format!(
                    "{} in {}: the {name} header would contain characters HTTP does not allow \
                     (check the access key id and security token)",
                    ctx.action, ctx.region
                ))
            })?;
            headers.insert(HeaderName::from_static(name), value);
        }
        let transport = |err: reqwest::Error| ApiError::Transport {
            action: ctx.action.to_string(),
            region: ctx.region.to_string(),
            endpoint: target.base.clone(),
            message: redactor.clean(&self.describe_transport(&err)),
        };
        let answer = self
            .http
            .post(url)
            .headers(headers)
            .send()
            .await
            .map_err(transport)?;
        let status = answer.status().as_u16();
        let retry_after = retry::retry_after(
            answer
                .headers()
                .get("x-acs-retry-after")
                .and_then(|v| v.to_str().ok()),
        );
        let request_id = answer
            .headers()
            .get("x-acs-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| redactor.clean(v));
        let body = answer.bytes().await.map_err(transport)?;
        // The request is over: its slot goes to the next one while this answer is decoded.
        drop(permit);
        let failed = |error| Failure { error, retry_after };
        let decoded: T = decode_apart(ctx, status, body.clone(), &redactor)
            .await
            .map_err(failed)?;
        let converted = convert(decoded).map_err(|message| {
            failed(ApiError::Decode {
                action: ctx.action.to_string(),
                region: ctx.region.to_string(),
                http_status: status,
                message: redactor.clean(&message),
                excerpt: response::excerpt(&body, &redactor),
            })
        })?;
        Ok((converted, request_id))
    }

    /// What went wrong, in words, without the request URL ([`describe_transport`]); a timeout
    /// also names the bounds that ran out.
    fn describe_transport(&self, err: &reqwest::Error) -> String {
        let text = describe_transport(err);
        match text.strip_prefix("timed out") {
            Some(rest) if err.is_timeout() => format!(
                "timed out (connect timeout {:?}, request timeout {:?}){rest}",
                self.config.connect_timeout, self.config.request_timeout
            ),
            _ => text,
        }
    }
}

/// The RequestId of a failed attempt, when the service answered with one.
fn failure_request_id(error: &ApiError) -> &str {
    match error {
        ApiError::Service { request_id, .. } => request_id,
        _ => "-",
    }
}

/// The outcome of an attempt that got no error code.
fn outcome_word(error: &ApiError) -> &'static str {
    match error {
        ApiError::Service { .. } => "error",
        ApiError::Transport { .. } => "no-answer",
        ApiError::Decode { .. } => "unexpected-answer",
        ApiError::Config(_) => "not-sent",
        ApiError::AfterAmbiguous { .. } => "ambiguous",
    }
}

fn check_credentials(credentials: &Credentials) -> Result<(), ApiError> {
    if credentials.access_key_id.trim().is_empty() {
        return Err(ApiError::Config("the access key id is empty".to_string()));
    }
    if credentials.access_key_secret.expose().is_empty() {
        return Err(ApiError::Config(format!(
            "the access key secret of {} is empty",
            credentials.access_key_id
        )));
    }
    Ok(())
}

fn config_error(action: &str, region: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::Config(format!("{action} in {region}: {why}"))
}

fn describe_instances_params(query: &InstanceQuery) -> Result<Vec<(String, String)>, ApiError> {
    let action = "DescribeInstances";
    let mut params = vec![("RegionId".to_string(), query.region.clone())];
    if query.prepaid_only {
        params.push(("InstanceChargeType".into(), "PrePaid".into()));
    }
    if let Some(ids) = &query.instance_ids {
        if ids.len() > MAX_BATCH {
            return Err(config_error(
                action,
                &query.region,
                format!(
                    "{} instance ids in one call; at most {MAX_BATCH}",
                    ids.len()
                ),
            ));
        }
        // A JSON array string, as the official samples send it (§3.2).
        let json =
            serde_json::to_string(ids).map_err(|e| config_error(action, &query.region, e))?;
        params.push(("InstanceIds".into(), json));
    }
    match &query.paging {
        Paging::Page(0) => {
            return Err(config_error(
                action,
                &query.region,
                "PageNumber starts at 1",
            ));
        }
        Paging::Page(number) => {
            params.push(("PageNumber".into(), number.to_string()));
            params.push(("PageSize".into(), MAX_BATCH.to_string()));
        }
        Paging::Token(token) => {
            params.push(("MaxResults".into(), MAX_BATCH.to_string()));
            if let Some(token) = token.as_ref().filter(|t| !t.is_empty()) {
                params.push(("NextToken".into(), token.clone()));
            }
        }
    }
    Ok(params)
}

impl EcsApi for EcsClient {
    async fn describe_instances(&self, query: &InstanceQuery) -> Result<InstancePage, ApiError> {
        let params = describe_instances_params(query)?;
        let by_page = matches!(query.paging, Paging::Page(_));
        let region = query.region.as_str();
        self.call(
            region,
            "DescribeInstances",
            &params,
            |answer: DescribeInstancesResponse| {
                // Concurrent paging rests on TotalCount; with NextToken paging it means nothing
                // (§3.2) and may be absent.
                let total_count = match (answer.total_count, by_page) {
                    (Some(count), _) => count,
                    (None, false) => 0,
                    (None, true) => return Err("the answer has no TotalCount".to_string()),
                };
                let mut instances = Vec::with_capacity(answer.instances.instance.len());
                let mut unreadable = Vec::new();
                for wire in answer.instances.instance {
                    match wire::to_snapshot(region, wire) {
                        Ok(snapshot) => instances.push(snapshot),
                        Err(bad) => {
                            tracing::warn!(
                                region,
                                instance_id = bad.instance_id.as_str(),
                                "an instance of the answer could not be read: {}",
                                bad.reason
                            );
                            unreadable.push(bad);
                        }
                    }
                }
                Ok(InstancePage {
                    total_count,
                    next_token: answer.next_token.filter(|t| !t.is_empty()),
                    instances,
                    unreadable,
                    request_id: answer.request_id,
                })
            },
        )
        .await
    }

    async fn describe_auto_renew(
        &self,
        region: &str,
        instance_ids: &[String],
    ) -> Result<Vec<(String, RenewalAttribute)>, ApiError> {
        let action = "DescribeInstanceAutoRenewAttribute";
        // Without ids the API would need a RenewalStatus filter instead; the attributes of no
        // instances are known without asking.
        if instance_ids.is_empty() {
            return Ok(Vec::new());
        }
        if instance_ids.len() > MAX_BATCH {
            return Err(config_error(
                action,
                region,
                format!(
                    "{} instance ids in one call; at most {MAX_BATCH}",
                    instance_ids.len()
                ),
            ));
        }
        if let Some(bad) = instance_ids
            .iter()
            .find(|id| id.is_empty() || id.contains(','))
        {
            return Err(config_error(
                action,
                region,
                format!("invalid instance id {bad:?}"),
            ));
        }
        // A comma-separated list here, unlike DescribeInstances (§3.3); PageSize is a string
        // parameter in the metadata, sent as decimal digits all the same.
        let params = vec![
            ("RegionId".to_string(), region.to_string()),
            ("InstanceId".to_string(), instance_ids.join(",")),
            ("PageSize".to_string(), MAX_BATCH.to_string()),
        ];
        self.call(
            region,
            action,
            &params,
            |answer: DescribeAutoRenewResponse| {
                Ok(answer
                    .instance_renew_attributes
                    .instance_renew_attribute
                    .into_iter()
                    .map(wire::to_renewal)
                    .collect())
            },
        )
        .await
    }

    async fn execute(&self, mutation: &Mutation) -> Result<CallOutcome, ApiError> {
        let action = mutation.action().as_str();
        // The one place a request's parameters are made: from the typed request, whose
        // names never collide with the signature's (`request::RESERVED_PARAMS`).
        let params: Vec<(String, String)> = mutation.params().into_iter().collect();
        self.call(
            mutation.region(),
            action,
            &params,
            |answer: wire::MutationResponse| {
                Ok(CallOutcome {
                    request_id: answer.request_id,
                    order_id: answer.order_id.map(wire::OrderId::into_string),
                })
            },
        )
        .await
    }

    /// `PriceUnit`, not `PeriodUnit` (ecs-api.md §3.5).
    async fn describe_renewal_price(
        &self,
        region: &str,
        instance_id: &str,
        query: PriceQuery,
    ) -> Result<Price, ApiError> {
        let action = "DescribeRenewalPrice";
        if instance_id.is_empty() || instance_id.contains(',') {
            return Err(config_error(
                action,
                region,
                format!("invalid instance id {instance_id:?}"),
            ));
        }
        let params = vec![
            ("RegionId".to_string(), region.to_string()),
            ("ResourceId".to_string(), instance_id.to_string()),
            ("ResourceType".to_string(), "instance".to_string()),
            ("Period".to_string(), query.period.to_string()),
            ("PriceUnit".to_string(), query.unit.as_api().to_string()),
        ];
        self.call(
            region,
            action,
            &params,
            |answer: DescribeRenewalPriceResponse| wire_price::to_price(answer),
        )
        .await
    }
}

impl BillingApi for EcsClient {
    async fn query_account_balance(&self, site: Site) -> Result<AccountBalance, ApiError> {
        let target = match (&self.bss, &self.fixed) {
            (Some(url), _) => endpoint::fixed(url)?,
            // An emulator on loopback serves BSS beside ECS (`renewctl emulator`, the demo).
            (None, Some(fixed)) if fixed.loopback => fixed.clone(),
            (None, _) => endpoint::fixed(&format!("https://{}/", site.bss_endpoint()))?,
        };
        self.call_at(
            &target,
            BSS_VERSION,
            "bss",
            "QueryAccountBalance",
            &[],
            |answer: QueryAccountBalanceResponse| wire_bss::to_balance(answer),
        )
        .await
    }
}

/// Answers at least this large are decoded on a task of their own: a page of 100 instances
/// (about 250 KB) takes about half a millisecond to read, and meanwhile the task that sends the
/// other requests of a plan (one task polls them all) must not wait for it.
const DECODE_APART: usize = 32 * 1024;

/// Decodes an answer, on another task of the runtime when it is large (see [`DECODE_APART`]).
async fn decode_apart<T, B>(
    ctx: CallContext<'_>,
    status: u16,
    body: B,
    redactor: &Redactor,
) -> Result<T, ApiError>
where
    T: Answer + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    if body.as_ref().len() < DECODE_APART {
        return response::decode(ctx, status, body.as_ref(), redactor);
    }
    let (action, region) = (ctx.action.to_string(), ctx.region.to_string());
    let owned = redactor.clone();
    let task = tokio::task::spawn(async move {
        let ctx = CallContext {
            action: &action,
            region: &region,
        };
        response::decode(ctx, status, body.as_ref(), &owned)
    });
    task.await.unwrap_or_else(|join| {
        Err(ApiError::Decode {
            action: ctx.action.to_string(),
            region: ctx.region.to_string(),
            http_status: status,
            message: format!("the answer could not be decoded ({join})"),
            excerpt: String::new(),
        })
    })
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
