//! [`FakeExchangeClient`]: an [`ExchangeClient`] that runs cmdlets on an in-memory
//! [`Tenant`], with call recording, scripted failures and latency.

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::continuation::{self, TokenKey};
use super::engine::{Call, execute};
use super::failure::Failure;
use super::module;
use super::tenant::Tenant;
use exchange_activesync::auth::TokenClaims;
use exchange_activesync::client::{ExchangeClient, ModuleFile, ModuleFileEntry};
use exchange_activesync::error::{ApiError, Error, Result};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage, Warning, decode_page};

/// One recorded `invoke_page` call.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RecordedCall {
    /// Cmdlet name as sent.
    pub cmdlet: String,
    /// Parameters as sent.
    pub parameters: Map<String, Value>,
    /// The continuation link, for pages after the first.
    pub continuation: Option<NextLink>,
    /// `$select`.
    pub select: Vec<String>,
    /// Effective page size.
    pub page_size: u32,
}

/// What a scripted failure returns.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Scripted {
    /// The error the HTTP client decodes from the simulator's answer to this failure.
    Service(Failure),
    /// Any other API error, as given.
    Api(Box<ApiError>),
    /// Run the call (its changes are applied to the tenant), then fail with the error the
    /// HTTP client makes of the simulator's answer to this failure: an API error, or for a
    /// 2xx answer (e.g. [`Failure::HtmlPage`]) the decoding error. See
    /// [`Fault::AfterRun`](super::Fault::AfterRun).
    AfterRun(Failure),
    /// Not a failure: run a write (or destructive) cmdlet, then answer with an
    /// `@odata.nextLink` as if more results followed (the simulator's
    /// [`Fault::NextLinkOnWrite`](super::Fault::NextLinkOnWrite)). Only matches writes.
    NextLinkOnWrite,
    /// Not a failure: answer a continuation with the first page's rows again under a fresh
    /// next link (the simulator's [`Fault::RepeatRows`](super::Fault::RepeatRows)); a
    /// first-page call passes this rule by.
    RepeatRows,
}

impl From<Failure> for Scripted {
    fn from(f: Failure) -> Self {
        Scripted::Service(f)
    }
}

impl From<ApiError> for Scripted {
    fn from(e: ApiError) -> Self {
        Scripted::Api(Box::new(e))
    }
}

/// How often a scripted failure fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Times {
    /// The next matching call only.
    Once,
    /// The next `n` matching calls.
    N(u32),
    /// Every matching call.
    Always,
}

#[derive(Debug)]
struct Rule {
    cmdlet: Option<String>,
    what: Scripted,
    remaining: Option<u32>,
    skip: u32,
}

/// Common scripted failures.
impl Failure {
    /// 429 with `Retry-After` in seconds.
    pub fn throttled(retry_after: Option<f64>) -> Failure {
        Failure::Throttled {
            retry_after: retry_after.map(|s| s.to_string()),
        }
    }

    /// A transient Exchange exception (`DCOverloadedException`).
    pub fn transient() -> Failure {
        Failure::TransientException {
            exception: "DCOverloadedException".into(),
        }
    }

    /// 404 for `identity`.
    pub fn not_found(identity: &str) -> Failure {
        Failure::NotFound {
            identity: identity.into(),
            scope: "simulated tenant".into(),
        }
    }
}

/// An in-memory [`ExchangeClient`] backed by the tenant model: it runs every cmdlet on a
/// [`Tenant`] (with the service's validation, RBAC, paging and errors), records the calls,
/// and fails on request ([`fail`](Self::fail)).
///
/// Arrange the tenant through [`tenant_mut`](Self::tenant_mut) (or
/// [`edit_device`](Self::edit_device)) and assert on [`tenant`](Self::tenant) and
/// [`calls`](Self::calls).
///
/// **The tenant's clock:** a tenant from [`TenantBuilder`](super::TenantBuilder) lives at
/// [`Tenant::DEFAULT_NOW`] (2024-06-01 00:00:00 UTC) unless built with
/// [`TenantBuilder::now`](super::TenantBuilder::now). Code under test that uses
/// `Utc::now()` sees every generated device as stale: build with `.now(Utc::now())`, or
/// pass `fake.tenant().now()` where the code takes "now" (see
/// [the tenant's clock](Tenant#the-tenants-clock)).
///
/// ```
/// # async fn demo() -> exchange_activesync::Result<()> {
/// use chrono::Duration;
/// use exchange_activesync::ExchangeClientExt;
/// use exchange_activesync::cmdlets::GetMobileDevice;
/// use exchange_activesync_testkit::{Device, Failure, FakeExchangeClient, TenantBuilder, Times};
///
/// let fake = FakeExchangeClient::new(TenantBuilder::new().seed(7).mailboxes(3).devices(5).build());
/// // This device last synced 200 days ago:
/// let stale = fake.tenant_mut().create_device(
///     Device::builder("alice").device_type("Android").last_synced_ago(Duration::days(200)),
/// );
/// // The next Get-MobileDevice is throttled (the fake does not retry; retrying callers do).
/// fake.fail(Some("Get-MobileDevice"), Failure::throttled(Some(1.0)), Times::Once);
/// let err = fake.call(GetMobileDevice::new()).await.unwrap_err();
/// assert!(err.is_throttled());
///
/// let devices = fake.call(GetMobileDevice::new()).await?;
/// assert_eq!(devices.items.len(), 6);
/// assert!(devices.items.iter().any(|d| d.guid == Some(stale)));
/// assert_eq!(fake.calls_to("Get-MobileDevice").len(), 2);
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Debug)]
pub struct FakeExchangeClient {
    tenant: Arc<RwLock<Tenant>>,
    calls: Mutex<Vec<RecordedCall>>,
    rules: Mutex<Vec<Rule>>,
    latency: Mutex<Option<Duration>>,
    claims: Mutex<Option<TokenClaims>>,
    key: TokenKey,
    expiry: Mutex<Duration>,
    repeats: std::sync::atomic::AtomicU64,
}

/// Base of the fake's continuation links.
pub const FAKE_BASE: &str = "https://fake.exchange.invalid";

impl FakeExchangeClient {
    /// A fake over `tenant`; token claims default to those of the simulator's token
    /// (app-only with `Exchange.ManageAsApp`), so both see the same caller.
    pub fn new(tenant: Tenant) -> Self {
        let claims = TokenClaims::decode(&super::token::simulator_token(
            &tenant.tenant_id().to_string(),
        ))
        .unwrap_or_default();
        FakeExchangeClient {
            tenant: Arc::new(RwLock::new(tenant)),
            calls: Mutex::new(Vec::new()),
            rules: Mutex::new(Vec::new()),
            latency: Mutex::new(None),
            claims: Mutex::new(Some(claims)),
            key: TokenKey::new(None),
            expiry: Mutex::new(Duration::from_secs(30 * 60)),
            repeats: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The shared tenant.
    pub fn shared_tenant(&self) -> Arc<RwLock<Tenant>> {
        self.tenant.clone()
    }

    /// Read access to the tenant (for assertions).
    pub fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.tenant.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the tenant (to arrange a state, or advance a wipe).
    pub fn tenant_mut(&self) -> RwLockWriteGuard<'_, Tenant> {
        self.tenant.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Edit one device of the tenant in place (see [`Tenant::device_mut`]); returns whether a
    /// device has this GUID.
    pub fn edit_device(&self, guid: &uuid::Uuid, edit: impl FnOnce(&mut super::Device)) -> bool {
        let mut tenant = self.tenant_mut();
        match tenant.device_mut(guid) {
            Some(mut device) => {
                edit(&mut device);
                true
            }
            None => false,
        }
    }

    /// A copy of the tenant.
    pub fn snapshot(&self) -> Tenant {
        self.tenant().clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Calls of one cmdlet (case-insensitive).
    pub fn calls_to(&self, cmdlet: &str) -> Vec<RecordedCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.cmdlet.eq_ignore_ascii_case(cmdlet))
            .collect()
    }

    /// Forget recorded calls.
    pub fn clear_calls(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Script a failure for `cmdlet` (`None` = any cmdlet). Rules are checked in order.
    pub fn fail(&self, cmdlet: Option<&str>, what: impl Into<Scripted>, times: Times) {
        self.fail_after(0, cmdlet, what, times);
    }

    /// [`fail`](Self::fail), from the `skip + 1`-th matching call on: the first `skip`
    /// matching calls pass (a proxy that loses its route after the plan was read, say).
    pub fn fail_after(
        &self,
        skip: u32,
        cmdlet: Option<&str>,
        what: impl Into<Scripted>,
        times: Times,
    ) {
        let remaining = match times {
            Times::Once => Some(1),
            Times::N(n) => Some(n),
            Times::Always => None,
        };
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Rule {
                cmdlet: cmdlet.map(str::to_string),
                what: what.into(),
                remaining,
                skip,
            });
    }

    /// Remove every scripted failure.
    pub fn clear_failures(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Delay every call by `latency` (tokio sleep).
    pub fn set_latency(&self, latency: Option<Duration>) {
        *self.latency.lock().unwrap_or_else(|e| e.into_inner()) = latency;
    }

    /// Replace the token claims (`None`: the client has no JWT).
    pub fn set_token_claims(&self, claims: Option<TokenClaims>) {
        *self.claims.lock().unwrap_or_else(|e| e.into_inner()) = claims;
    }

    /// Lifetime of continuation links (default 30 minutes).
    pub fn set_continuation_expiry(&self, expiry: Duration) {
        *self.expiry.lock().unwrap_or_else(|e| e.into_inner()) = expiry;
    }

    fn scripted(&self, cmdlet: &str, continuation: bool) -> Option<Scripted> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let write =
            exchange_activesync::protocol::CmdletKind::from_cmdlet_name(cmdlet).is_mutating();
        let i = rules.iter().position(|r| {
            r.remaining != Some(0)
                && (write || r.what != Scripted::NextLinkOnWrite)
                && (continuation || r.what != Scripted::RepeatRows)
                && r.cmdlet
                    .as_deref()
                    .is_none_or(|c| c.eq_ignore_ascii_case(cmdlet))
        })?;
        let rule = &mut rules[i];
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.what.clone())
    }

    fn api_error(failure: &Failure, invocation: &Invocation) -> Error {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut e = failure.to_api_error(Some(invocation.cmdlet()), Some(&request_id));
        e.client_request_id = Some(invocation.request_id().to_string());
        Error::Api(Box::new(e))
    }
}

#[async_trait]
impl ExchangeClient for FakeExchangeClient {
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage> {
        invocation.validate()?;
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(RecordedCall {
                cmdlet: invocation.cmdlet().to_string(),
                parameters: invocation.parameters().as_map().clone(),
                continuation: continuation.cloned(),
                select: invocation.selected().to_vec(),
                page_size: invocation.effective_page_size(),
            });
        let latency = *self.latency.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = latency {
            tokio::time::sleep(l).await;
        }
        let mut next_on_write = None;
        let mut repeat = false;
        let after_run = match self.scripted(invocation.cmdlet(), continuation.is_some()) {
            Some(Scripted::RepeatRows) => {
                repeat = true;
                None
            }
            Some(Scripted::Service(f)) => return Err(Self::api_error(&f, invocation)),
            Some(Scripted::Api(e)) => return Err(Error::Api(e)),
            Some(Scripted::AfterRun(f)) => Some(f),
            Some(Scripted::NextLinkOnWrite) => {
                next_on_write = Some(super::continuation::Cursor::default());
                None
            }
            None => None,
        };
        let page = if repeat {
            // The first page again, under a fresh next link.
            self.run(invocation, None, None).map(|mut p| {
                p.next_link = p.next_link.map(|l| {
                    let n = self
                        .repeats
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    NextLink::new(format!("{}&repeat={n}", l.as_str()))
                });
                p
            })
        } else {
            self.run(invocation, continuation, next_on_write)
        };
        match after_run {
            None => page,
            Some(f) => {
                let answer = f.answer();
                if (200..300).contains(&answer.status) {
                    decode_page(invocation.cmdlet(), &answer.body)
                } else {
                    Err(Self::api_error(&f, invocation))
                }
            }
        }
    }

    async fn module_file(&self) -> Result<ModuleFile> {
        let (content, exported) = module::generate(self.tenant().rbac());
        Ok(ModuleFile::new(
            exported,
            vec![ModuleFileEntry::new(module::MODULE_FILE_NAME, content)],
        ))
    }

    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        Ok(self
            .claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
}

impl FakeExchangeClient {
    /// Run one page of `invocation` against the tenant.
    fn run(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
        next_on_write: Option<super::continuation::Cursor>,
    ) -> Result<RawPage> {
        let body = invocation.body();
        let expiry = *self.expiry.lock().unwrap_or_else(|e| e.into_inner());
        let (cursor, select) = match continuation {
            None => (None, invocation.selected().to_vec()),
            Some(link) => {
                let token = continuation::skiptoken_of(link.as_str())
                    .ok_or_else(|| Self::api_error(&Failure::PaginationExpired, invocation))?;
                let (c, s) =
                    continuation::decode(&self.key, &token, &body, SystemTime::now(), expiry)
                        .map_err(|f| Self::api_error(&f, invocation))?;
                (Some(c), s)
            }
        };
        let call = Call::new(invocation.cmdlet(), invocation.parameters().as_map())
            .select(&select)
            .page_size(invocation.effective_page_size() as usize)
            .cursor(cursor.as_ref());
        let reply = execute(&self.tenant, &call).map_err(|f| Self::api_error(&f, invocation))?;
        let mut page = RawPage::empty(invocation.cmdlet());
        if reply.row_count > 0 {
            let text = String::from_utf8(reply.rows_json).map_err(|e| Error::Decode {
                cmdlet: invocation.cmdlet().to_string(),
                message: e.to_string(),
                body_snippet: String::new(),
            })?;
            page.value = Some(serde_json::value::RawValue::from_string(text).map_err(|e| {
                Error::Decode {
                    cmdlet: invocation.cmdlet().to_string(),
                    message: e.to_string(),
                    body_snippet: String::new(),
                }
            })?);
        }
        page.warnings = reply
            .warnings
            .into_iter()
            .map(|w| Warning::new(w, Some(invocation.cmdlet().to_string())))
            .collect();
        page.confirmation_message = reply.confirmation_message;
        page.next_link = reply.next.or(next_on_write).map(|c| {
            let tenant = self.tenant().tenant_id();
            let token = continuation::encode(&self.key, &body, &c, &select, SystemTime::now());
            let mut url = url::Url::parse(FAKE_BASE).expect("valid base");
            url.set_path(&format!("/adminapi/beta/{tenant}/InvokeCommand"));
            url.query_pairs_mut().append_pair("$skiptoken", &token);
            NextLink::new(url.to_string())
        });
        Ok(page)
    }
}
