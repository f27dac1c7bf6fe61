//! The [`ExchangeClient`] trait, typed cmdlet requests ([`Cmdlet`]) and paging.
//!
//! `ExchangeClient` is object-safe (`Arc<dyn ExchangeClient>`): it has one required method,
//! [`ExchangeClient::invoke_page`], which runs one page of any cmdlet. Everything else (typed
//! calls, streams, collected lists) is built on top of it, so a test double only needs to
//! implement what it wants to control:
//!
//! * [`HttpExchangeClient`](crate::HttpExchangeClient) speaks the real wire protocol;
//! * `FakeExchangeClient` (feature `test-util`) runs cmdlets against an in-memory tenant;
//! * your own type can implement `invoke_page` (raw JSON), or override typed methods.
//!
//! Streams and collected lists follow `@odata.nextLink` until the service stops sending one.
//! Warnings are never dropped: they are returned with every [`Page`] and [`Listing`], and an
//! [`ObjectStream`] keeps them in its [`StreamReport`].

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::auth::TokenClaims;
use crate::error::{Error, Result};
use crate::protocol::{CmdletKind, Invocation, NextLink, Parameters, RawPage, Warning};

/// A typed cmdlet request: it knows its name, its kind and how to encode itself.
///
/// Request types validate their input in [`Cmdlet::invocation`], so a bad value is refused
/// before anything is sent.
pub trait Cmdlet: Send + Sync {
    /// What one result row decodes into ([`NoOutput`] for cmdlets that return nothing).
    type Output: DeserializeOwned + Send + 'static;
    /// Cmdlet name, e.g. `Get-MobileDevice`.
    const NAME: &'static str;
    /// Read, write or destructive.
    const KIND: CmdletKind;
    /// Validate and encode the request.
    fn invocation(&self) -> Result<Invocation>;
}

/// The output type of cmdlets that return nothing (Set-, Remove-, Clear-). Any row the
/// service sends anyway is accepted and ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoOutput;

impl<'de> serde::Deserialize<'de> for NoOutput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(NoOutput)
    }
}

/// The service's `EXOModuleFile` answer: which cmdlets the calling account may run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ModuleFile {
    /// Cmdlet names from `exportedCmdlets`, as spelled by the service (compare
    /// case-insensitively: some are lower-case, e.g. `get-MobileDeviceMailboxPolicy`).
    pub exported_cmdlets: Vec<String>,
    /// The generated module's files (`fileName`, `fileContent`), when the service sent them.
    pub files: Vec<ModuleFileEntry>,
}

impl ModuleFile {
    /// Whether `cmdlet` is exported (case-insensitive).
    pub fn exports(&self, cmdlet: &str) -> bool {
        self.exported_cmdlets
            .iter()
            .any(|c| c.eq_ignore_ascii_case(cmdlet))
    }
}

/// One file of the generated module.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ModuleFileEntry {
    /// File name, e.g. `ExchangeOnline.psm1`.
    pub file_name: String,
    /// File content (PowerShell source).
    pub content: String,
}

impl ModuleFileEntry {
    /// A file entry.
    pub fn new(file_name: impl Into<String>, content: impl Into<String>) -> Self {
        ModuleFileEntry {
            file_name: file_name.into(),
            content: content.into(),
        }
    }
}

impl fmt::Debug for ModuleFileEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleFileEntry")
            .field("file_name", &self.file_name)
            .field("content_len", &self.content.len())
            .finish()
    }
}

/// An async client of the Exchange Online admin API.
///
/// Object-safe: hold it as `Arc<dyn ExchangeClient>`. Only [`invoke_page`](Self::invoke_page)
/// must be implemented; the typed methods have default implementations built on it.
#[async_trait]
pub trait ExchangeClient: Send + Sync {
    /// Run one page of a cmdlet: the first page when `continuation` is `None`, otherwise the
    /// page behind that `@odata.nextLink` (the same body is re-sent).
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage>;

    /// The cmdlets (and generated module) the service exposes to this account
    /// (`GET …/EXOModuleFile` with `CommandName: *`).
    ///
    /// The default implementation returns [`Error::Unsupported`].
    async fn module_file(&self) -> Result<ModuleFile> {
        Err(Error::Unsupported("EXOModuleFile".into()))
    }

    /// The claims of the token the client currently uses, decoded without verification, if the
    /// client has a JWT-shaped token. Used as a hint only (permission checks, routing).
    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        Ok(None)
    }

    /// The client's per-tenant throttling authority, if it has one (an
    /// [`HttpExchangeClient`](crate::HttpExchangeClient) does; the default is `None`).
    /// Workflows read their throttling figures from it.
    fn throttle(&self) -> Option<Arc<crate::throttle::TenantThrottle>> {
        None
    }

    /// Run any cmdlet and collect every page of its output as JSON objects (annotation keys
    /// removed). Destructive cmdlets still get the local identity checks and `Confirm: false`.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::protocol::Parameters;
    /// let mut p = Parameters::new();
    /// p.string("Identity", "alice@contoso.com");
    /// let rows = client.invoke_raw("Get-CASMailbox", p).await?;
    /// println!("{} row(s), {} warning(s)", rows.items.len(), rows.warnings.len());
    /// # Ok(()) }
    /// ```
    async fn invoke_raw(
        &self,
        cmdlet: &str,
        parameters: Parameters,
    ) -> Result<Listing<serde_json::Map<String, serde_json::Value>>> {
        let invocation = Invocation::new(cmdlet, parameters);
        let mut listing = collect_invocation::<serde_json::Value, _>(self, &invocation).await?;
        let items = std::mem::take(&mut listing.items)
            .into_iter()
            .filter_map(|v| match v {
                serde_json::Value::Object(m) => Some(crate::protocol::strip_annotations(m)),
                _ => None,
            })
            .collect();
        Ok(listing.map_items(items))
    }

    // ---- typed cmdlet methods -------------------------------------------------------------
    // (one method per cmdlet, with default implementations over `invoke_page`)

    /// `Get-MobileDevice`: every row, across all pages, with warnings.
    ///
    /// The default drives [`get_mobile_device_stream`](Self::get_mobile_device_stream), which calls
    /// [`get_mobile_device_page`](Self::get_mobile_device_page): a test double that overrides only the page method gets
    /// all three.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let all = client.get_mobile_device(GetMobileDevice::new()).await?;
    /// println!("{} row(s)", all.items.len());
    /// # Ok(()) }
    /// ```
    async fn get_mobile_device(
        &self,
        request: crate::cmdlets::GetMobileDevice,
    ) -> Result<Listing<crate::models::MobileDevice>> {
        self.get_mobile_device_stream(request)
            .collect_listing()
            .await
    }

    /// `Get-MobileDevice` as a stream of rows across pages (memory bounded by one page); warnings are
    /// kept in the stream's report.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// use futures::StreamExt;
    /// let mut rows = client.get_mobile_device_stream(GetMobileDevice::new());
    /// while let Some(row) = rows.next().await {
    ///     let _row = row?;
    /// }
    /// # Ok(()) }
    /// ```
    fn get_mobile_device_stream(
        &self,
        request: crate::cmdlets::GetMobileDevice,
    ) -> ObjectStream<'_, crate::models::MobileDevice> {
        match crate::cmdlets::PreparedCmdlet::new(&request) {
            Ok(prepared) => {
                let prepared = Arc::new(prepared);
                stream_keyed_pages(
                    <crate::cmdlets::GetMobileDevice as Cmdlet>::NAME,
                    move |next| {
                        let prepared = prepared.clone();
                        Box::pin(async move {
                            self.get_mobile_device_page(&prepared, next.as_ref()).await
                        })
                    },
                )
            }
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// One page of `Get-MobileDevice`: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let request = PreparedCmdlet::new(&GetMobileDevice::new())?;
    /// let first = client.get_mobile_device_page(&request, None).await?;
    /// if let Some(link) = &first.next_link {
    ///     let _second = client.get_mobile_device_page(&request, Some(link)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn get_mobile_device_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetMobileDevice>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::MobileDevice>> {
        page_of(self, request.invocation(), next).await
    }

    /// `Get-MobileDeviceStatistics`: every row, across all pages, with warnings.
    ///
    /// The default drives [`get_mobile_device_statistics_stream`](Self::get_mobile_device_statistics_stream), which calls
    /// [`get_mobile_device_statistics_page`](Self::get_mobile_device_statistics_page): a test double that overrides only the page method gets
    /// all three.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let all = client.get_mobile_device_statistics(GetMobileDeviceStatistics::for_mailbox(MailboxIdentity::new("alice@contoso.com")?)).await?;
    /// println!("{} row(s)", all.items.len());
    /// # Ok(()) }
    /// ```
    async fn get_mobile_device_statistics(
        &self,
        request: crate::cmdlets::GetMobileDeviceStatistics,
    ) -> Result<Listing<crate::models::MobileDeviceStatistics>> {
        self.get_mobile_device_statistics_stream(request)
            .collect_listing()
            .await
    }

    /// `Get-MobileDeviceStatistics` as a stream of rows across pages (memory bounded by one page); warnings are
    /// kept in the stream's report.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// use futures::StreamExt;
    /// let mut rows = client.get_mobile_device_statistics_stream(GetMobileDeviceStatistics::for_mailbox(MailboxIdentity::new("alice@contoso.com")?));
    /// while let Some(row) = rows.next().await {
    ///     let _row = row?;
    /// }
    /// # Ok(()) }
    /// ```
    fn get_mobile_device_statistics_stream(
        &self,
        request: crate::cmdlets::GetMobileDeviceStatistics,
    ) -> ObjectStream<'_, crate::models::MobileDeviceStatistics> {
        match crate::cmdlets::PreparedCmdlet::new(&request) {
            Ok(prepared) => {
                let prepared = Arc::new(prepared);
                stream_keyed_pages(
                    <crate::cmdlets::GetMobileDeviceStatistics as Cmdlet>::NAME,
                    move |next| {
                        let prepared = prepared.clone();
                        Box::pin(async move {
                            self.get_mobile_device_statistics_page(&prepared, next.as_ref())
                                .await
                        })
                    },
                )
            }
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// One page of `Get-MobileDeviceStatistics`: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let request = PreparedCmdlet::new(&GetMobileDeviceStatistics::for_mailbox(MailboxIdentity::new("alice@contoso.com")?))?;
    /// let first = client.get_mobile_device_statistics_page(&request, None).await?;
    /// if let Some(link) = &first.next_link {
    ///     let _second = client.get_mobile_device_statistics_page(&request, Some(link)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn get_mobile_device_statistics_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetMobileDeviceStatistics>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::MobileDeviceStatistics>> {
        page_of(self, request.invocation(), next).await
    }

    /// `Get-MobileDeviceMailboxPolicy`: every row, across all pages, with warnings.
    ///
    /// The default drives [`get_mobile_device_mailbox_policy_stream`](Self::get_mobile_device_mailbox_policy_stream), which calls
    /// [`get_mobile_device_mailbox_policy_page`](Self::get_mobile_device_mailbox_policy_page): a test double that overrides only the page method gets
    /// all three.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let all = client.get_mobile_device_mailbox_policy(GetMobileDeviceMailboxPolicy::new()).await?;
    /// println!("{} row(s)", all.items.len());
    /// # Ok(()) }
    /// ```
    async fn get_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::GetMobileDeviceMailboxPolicy,
    ) -> Result<Listing<crate::models::MobileDeviceMailboxPolicy>> {
        self.get_mobile_device_mailbox_policy_stream(request)
            .collect_listing()
            .await
    }

    /// `Get-MobileDeviceMailboxPolicy` as a stream of rows across pages (memory bounded by one page); warnings are
    /// kept in the stream's report.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// use futures::StreamExt;
    /// let mut rows = client.get_mobile_device_mailbox_policy_stream(GetMobileDeviceMailboxPolicy::new());
    /// while let Some(row) = rows.next().await {
    ///     let _row = row?;
    /// }
    /// # Ok(()) }
    /// ```
    fn get_mobile_device_mailbox_policy_stream(
        &self,
        request: crate::cmdlets::GetMobileDeviceMailboxPolicy,
    ) -> ObjectStream<'_, crate::models::MobileDeviceMailboxPolicy> {
        match crate::cmdlets::PreparedCmdlet::new(&request) {
            Ok(prepared) => {
                let prepared = Arc::new(prepared);
                stream_keyed_pages(
                    <crate::cmdlets::GetMobileDeviceMailboxPolicy as Cmdlet>::NAME,
                    move |next| {
                        let prepared = prepared.clone();
                        Box::pin(async move {
                            self.get_mobile_device_mailbox_policy_page(&prepared, next.as_ref())
                                .await
                        })
                    },
                )
            }
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// One page of `Get-MobileDeviceMailboxPolicy`: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let request = PreparedCmdlet::new(&GetMobileDeviceMailboxPolicy::new())?;
    /// let first = client.get_mobile_device_mailbox_policy_page(&request, None).await?;
    /// if let Some(link) = &first.next_link {
    ///     let _second = client.get_mobile_device_mailbox_policy_page(&request, Some(link)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn get_mobile_device_mailbox_policy_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetMobileDeviceMailboxPolicy>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::MobileDeviceMailboxPolicy>> {
        page_of(self, request.invocation(), next).await
    }

    /// `Get-ActiveSyncDeviceAccessRule`: every row, across all pages, with warnings.
    ///
    /// The default drives [`get_active_sync_device_access_rule_stream`](Self::get_active_sync_device_access_rule_stream), which calls
    /// [`get_active_sync_device_access_rule_page`](Self::get_active_sync_device_access_rule_page): a test double that overrides only the page method gets
    /// all three.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let all = client.get_active_sync_device_access_rule(GetActiveSyncDeviceAccessRule::new()).await?;
    /// println!("{} row(s)", all.items.len());
    /// # Ok(()) }
    /// ```
    async fn get_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceAccessRule,
    ) -> Result<Listing<crate::models::ActiveSyncDeviceAccessRule>> {
        self.get_active_sync_device_access_rule_stream(request)
            .collect_listing()
            .await
    }

    /// `Get-ActiveSyncDeviceAccessRule` as a stream of rows across pages (memory bounded by one page); warnings are
    /// kept in the stream's report.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// use futures::StreamExt;
    /// let mut rows = client.get_active_sync_device_access_rule_stream(GetActiveSyncDeviceAccessRule::new());
    /// while let Some(row) = rows.next().await {
    ///     let _row = row?;
    /// }
    /// # Ok(()) }
    /// ```
    fn get_active_sync_device_access_rule_stream(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceAccessRule,
    ) -> ObjectStream<'_, crate::models::ActiveSyncDeviceAccessRule> {
        match crate::cmdlets::PreparedCmdlet::new(&request) {
            Ok(prepared) => {
                let prepared = Arc::new(prepared);
                stream_keyed_pages(
                    <crate::cmdlets::GetActiveSyncDeviceAccessRule as Cmdlet>::NAME,
                    move |next| {
                        let prepared = prepared.clone();
                        Box::pin(async move {
                            self.get_active_sync_device_access_rule_page(&prepared, next.as_ref())
                                .await
                        })
                    },
                )
            }
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// One page of `Get-ActiveSyncDeviceAccessRule`: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let request = PreparedCmdlet::new(&GetActiveSyncDeviceAccessRule::new())?;
    /// let first = client.get_active_sync_device_access_rule_page(&request, None).await?;
    /// if let Some(link) = &first.next_link {
    ///     let _second = client.get_active_sync_device_access_rule_page(&request, Some(link)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn get_active_sync_device_access_rule_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetActiveSyncDeviceAccessRule>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::ActiveSyncDeviceAccessRule>> {
        page_of(self, request.invocation(), next).await
    }

    /// `Get-ActiveSyncDeviceClass`: every row, across all pages, with warnings.
    ///
    /// The default drives [`get_active_sync_device_class_stream`](Self::get_active_sync_device_class_stream), which calls
    /// [`get_active_sync_device_class_page`](Self::get_active_sync_device_class_page): a test double that overrides only the page method gets
    /// all three.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let all = client.get_active_sync_device_class(GetActiveSyncDeviceClass::new()).await?;
    /// println!("{} row(s)", all.items.len());
    /// # Ok(()) }
    /// ```
    async fn get_active_sync_device_class(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceClass,
    ) -> Result<Listing<crate::models::ActiveSyncDeviceClass>> {
        self.get_active_sync_device_class_stream(request)
            .collect_listing()
            .await
    }

    /// `Get-ActiveSyncDeviceClass` as a stream of rows across pages (memory bounded by one page); warnings are
    /// kept in the stream's report.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// use futures::StreamExt;
    /// let mut rows = client.get_active_sync_device_class_stream(GetActiveSyncDeviceClass::new());
    /// while let Some(row) = rows.next().await {
    ///     let _row = row?;
    /// }
    /// # Ok(()) }
    /// ```
    fn get_active_sync_device_class_stream(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceClass,
    ) -> ObjectStream<'_, crate::models::ActiveSyncDeviceClass> {
        match crate::cmdlets::PreparedCmdlet::new(&request) {
            Ok(prepared) => {
                let prepared = Arc::new(prepared);
                stream_keyed_pages(
                    <crate::cmdlets::GetActiveSyncDeviceClass as Cmdlet>::NAME,
                    move |next| {
                        let prepared = prepared.clone();
                        Box::pin(async move {
                            self.get_active_sync_device_class_page(&prepared, next.as_ref())
                                .await
                        })
                    },
                )
            }
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// One page of `Get-ActiveSyncDeviceClass`: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let request = PreparedCmdlet::new(&GetActiveSyncDeviceClass::new())?;
    /// let first = client.get_active_sync_device_class_page(&request, None).await?;
    /// if let Some(link) = &first.next_link {
    ///     let _second = client.get_active_sync_device_class_page(&request, Some(link)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn get_active_sync_device_class_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetActiveSyncDeviceClass>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::ActiveSyncDeviceClass>> {
        page_of(self, request.invocation(), next).await
    }

    /// `Get-Recipient`: every row, across all pages, with warnings.
    ///
    /// The default drives [`get_recipient_stream`](Self::get_recipient_stream), which calls
    /// [`get_recipient_page`](Self::get_recipient_page): a test double that overrides only the page method gets
    /// all three.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let all = client.get_recipient(GetRecipient::new().filter(Filter::eq("HasActiveSyncDevicePartnership", true))).await?;
    /// println!("{} row(s)", all.items.len());
    /// # Ok(()) }
    /// ```
    async fn get_recipient(
        &self,
        request: crate::cmdlets::GetRecipient,
    ) -> Result<Listing<crate::models::Recipient>> {
        self.get_recipient_stream(request).collect_listing().await
    }

    /// `Get-Recipient` as a stream of rows across pages (memory bounded by one page); warnings are
    /// kept in the stream's report.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// use futures::StreamExt;
    /// let mut rows = client.get_recipient_stream(GetRecipient::new().filter(Filter::eq("HasActiveSyncDevicePartnership", true)));
    /// while let Some(row) = rows.next().await {
    ///     let _row = row?;
    /// }
    /// # Ok(()) }
    /// ```
    fn get_recipient_stream(
        &self,
        request: crate::cmdlets::GetRecipient,
    ) -> ObjectStream<'_, crate::models::Recipient> {
        match crate::cmdlets::PreparedCmdlet::new(&request) {
            Ok(prepared) => {
                let prepared = Arc::new(prepared);
                stream_keyed_pages(
                    <crate::cmdlets::GetRecipient as Cmdlet>::NAME,
                    move |next| {
                        let prepared = prepared.clone();
                        Box::pin(
                            async move { self.get_recipient_page(&prepared, next.as_ref()).await },
                        )
                    },
                )
            }
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// One page of `Get-Recipient`: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let request = PreparedCmdlet::new(&GetRecipient::new().filter(Filter::eq("HasActiveSyncDevicePartnership", true)))?;
    /// let first = client.get_recipient_page(&request, None).await?;
    /// if let Some(link) = &first.next_link {
    ///     let _second = client.get_recipient_page(&request, Some(link)).await?;
    /// }
    /// # Ok(()) }
    /// ```
    async fn get_recipient_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetRecipient>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::Recipient>> {
        page_of(self, request.invocation(), next).await
    }

    /// `Get-ActiveSyncOrganizationSettings`: the organization's single settings object, with warnings. An answer without
    /// a row is a decode error.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let settings = client.get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new()).await?;
    /// println!("{:?}", settings.value.default_access_level);
    /// # Ok(()) }
    /// ```
    async fn get_active_sync_organization_settings(
        &self,
        request: crate::cmdlets::GetActiveSyncOrganizationSettings,
    ) -> Result<crate::cmdlets::Response<crate::models::ActiveSyncOrganizationSettings>> {
        run_single(self, &request).await
    }

    /// `New-MobileDeviceMailboxPolicy`: creates the object and returns it with warnings. The object is `None` if
    /// the service returned no row (protocol.md §4.4 marks the returned object as inferred),
    /// in which case read it back with the matching Get method.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let created = client.new_mobile_device_mailbox_policy(NewMobileDeviceMailboxPolicy::new("Strict-Phones")?.password_enabled(true).min_password_length(6)).await?;
    /// println!("{:?}", created.value.and_then(|o| o.identity));
    /// # Ok(()) }
    /// ```
    async fn new_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::NewMobileDeviceMailboxPolicy,
    ) -> Result<crate::cmdlets::Response<Option<crate::models::MobileDeviceMailboxPolicy>>> {
        run_created(self, &request).await
    }

    /// `New-ActiveSyncDeviceAccessRule`: creates the object and returns it with warnings. The object is `None` if
    /// the service returned no row (protocol.md §4.4 marks the returned object as inferred),
    /// in which case read it back with the matching Get method.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let created = client.new_active_sync_device_access_rule(NewActiveSyncDeviceAccessRule::new("ContosoPhone", DeviceAccessCharacteristic::DeviceModel, DeviceAccessLevel::Block)?).await?;
    /// println!("{:?}", created.value.and_then(|o| o.identity));
    /// # Ok(()) }
    /// ```
    async fn new_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::NewActiveSyncDeviceAccessRule,
    ) -> Result<crate::cmdlets::Response<Option<crate::models::ActiveSyncDeviceAccessRule>>> {
        run_created(self, &request).await
    }

    /// `Set-ActiveSyncOrganizationSettings`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.set_active_sync_organization_settings(SetActiveSyncOrganizationSettings::new().default_access_level(DeviceAccessLevel::Quarantine)).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn set_active_sync_organization_settings(
        &self,
        request: crate::cmdlets::SetActiveSyncOrganizationSettings,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }

    /// `Set-MobileDeviceMailboxPolicy`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.set_mobile_device_mailbox_policy(SetMobileDeviceMailboxPolicy::new(PolicyIdentity::default_policy()).password_history(5)).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn set_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::SetMobileDeviceMailboxPolicy,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }

    /// `Remove-MobileDeviceMailboxPolicy`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.remove_mobile_device_mailbox_policy(RemoveMobileDeviceMailboxPolicy::new(PolicyIdentity::new("Old policy")?).force()).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn remove_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::RemoveMobileDeviceMailboxPolicy,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }

    /// `Set-ActiveSyncDeviceAccessRule`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.set_active_sync_device_access_rule(SetActiveSyncDeviceAccessRule::new(AccessRuleIdentity::new("ContosoPhone (DeviceModel)")?, DeviceAccessLevel::Allow)).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn set_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::SetActiveSyncDeviceAccessRule,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }

    /// `Remove-ActiveSyncDeviceAccessRule`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.remove_active_sync_device_access_rule(RemoveActiveSyncDeviceAccessRule::new(AccessRuleIdentity::new("ContosoPhone (DeviceModel)")?)).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn remove_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::RemoveActiveSyncDeviceAccessRule,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }

    /// `Clear-MobileDevice`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.clear_mobile_device(ClearMobileDevice::account_only(MobileDeviceIdentity::parse("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60")?).notify(["helpdesk@contoso.com"])).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn clear_mobile_device(
        &self,
        request: crate::cmdlets::ClearMobileDevice,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }

    /// `Remove-MobileDevice`: returns only warnings (and a confirmation message, if any).
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::cmdlets::*;
    /// use exchange_activesync::models::*;
    /// use exchange_activesync::types::*;
    /// let outcome = client.remove_mobile_device(RemoveMobileDevice::new(MobileDeviceIdentity::parse("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60")?)).await?;
    /// for w in &outcome.warnings { println!("{w}"); }
    /// # Ok(()) }
    /// ```
    async fn remove_mobile_device(
        &self,
        request: crate::cmdlets::RemoveMobileDevice,
    ) -> Result<crate::cmdlets::Outcome> {
        run_outcome(self, &request).await
    }
}

#[async_trait]
impl<T: ExchangeClient + ?Sized> ExchangeClient for Arc<T> {
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage> {
        (**self).invoke_page(invocation, continuation).await
    }
    async fn module_file(&self) -> Result<ModuleFile> {
        (**self).module_file().await
    }
    async fn token_claims(&self) -> Result<Option<TokenClaims>> {
        (**self).token_claims().await
    }
    fn throttle(&self) -> Option<Arc<crate::throttle::TenantThrottle>> {
        (**self).throttle()
    }
    // Typed methods are forwarded too, so that an `Arc` of a client that overrides them
    // (e.g. a test double overriding a `*_page` method) keeps its behaviour.
    async fn get_mobile_device(
        &self,
        request: crate::cmdlets::GetMobileDevice,
    ) -> Result<Listing<crate::models::MobileDevice>> {
        (**self).get_mobile_device(request).await
    }
    fn get_mobile_device_stream(
        &self,
        request: crate::cmdlets::GetMobileDevice,
    ) -> ObjectStream<'_, crate::models::MobileDevice> {
        (**self).get_mobile_device_stream(request)
    }
    async fn get_mobile_device_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetMobileDevice>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::MobileDevice>> {
        (**self).get_mobile_device_page(request, next).await
    }
    async fn get_mobile_device_statistics(
        &self,
        request: crate::cmdlets::GetMobileDeviceStatistics,
    ) -> Result<Listing<crate::models::MobileDeviceStatistics>> {
        (**self).get_mobile_device_statistics(request).await
    }
    fn get_mobile_device_statistics_stream(
        &self,
        request: crate::cmdlets::GetMobileDeviceStatistics,
    ) -> ObjectStream<'_, crate::models::MobileDeviceStatistics> {
        (**self).get_mobile_device_statistics_stream(request)
    }
    async fn get_mobile_device_statistics_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetMobileDeviceStatistics>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::MobileDeviceStatistics>> {
        (**self)
            .get_mobile_device_statistics_page(request, next)
            .await
    }
    async fn get_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::GetMobileDeviceMailboxPolicy,
    ) -> Result<Listing<crate::models::MobileDeviceMailboxPolicy>> {
        (**self).get_mobile_device_mailbox_policy(request).await
    }
    fn get_mobile_device_mailbox_policy_stream(
        &self,
        request: crate::cmdlets::GetMobileDeviceMailboxPolicy,
    ) -> ObjectStream<'_, crate::models::MobileDeviceMailboxPolicy> {
        (**self).get_mobile_device_mailbox_policy_stream(request)
    }
    async fn get_mobile_device_mailbox_policy_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetMobileDeviceMailboxPolicy>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::MobileDeviceMailboxPolicy>> {
        (**self)
            .get_mobile_device_mailbox_policy_page(request, next)
            .await
    }
    async fn get_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceAccessRule,
    ) -> Result<Listing<crate::models::ActiveSyncDeviceAccessRule>> {
        (**self).get_active_sync_device_access_rule(request).await
    }
    fn get_active_sync_device_access_rule_stream(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceAccessRule,
    ) -> ObjectStream<'_, crate::models::ActiveSyncDeviceAccessRule> {
        (**self).get_active_sync_device_access_rule_stream(request)
    }
    async fn get_active_sync_device_access_rule_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetActiveSyncDeviceAccessRule>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::ActiveSyncDeviceAccessRule>> {
        (**self)
            .get_active_sync_device_access_rule_page(request, next)
            .await
    }
    async fn get_active_sync_device_class(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceClass,
    ) -> Result<Listing<crate::models::ActiveSyncDeviceClass>> {
        (**self).get_active_sync_device_class(request).await
    }
    fn get_active_sync_device_class_stream(
        &self,
        request: crate::cmdlets::GetActiveSyncDeviceClass,
    ) -> ObjectStream<'_, crate::models::ActiveSyncDeviceClass> {
        (**self).get_active_sync_device_class_stream(request)
    }
    async fn get_active_sync_device_class_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetActiveSyncDeviceClass>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::ActiveSyncDeviceClass>> {
        (**self)
            .get_active_sync_device_class_page(request, next)
            .await
    }
    async fn get_recipient(
        &self,
        request: crate::cmdlets::GetRecipient,
    ) -> Result<Listing<crate::models::Recipient>> {
        (**self).get_recipient(request).await
    }
    fn get_recipient_stream(
        &self,
        request: crate::cmdlets::GetRecipient,
    ) -> ObjectStream<'_, crate::models::Recipient> {
        (**self).get_recipient_stream(request)
    }
    async fn get_recipient_page(
        &self,
        request: &crate::cmdlets::PreparedCmdlet<crate::cmdlets::GetRecipient>,
        next: Option<&NextLink>,
    ) -> Result<Page<crate::models::Recipient>> {
        (**self).get_recipient_page(request, next).await
    }
    async fn get_active_sync_organization_settings(
        &self,
        request: crate::cmdlets::GetActiveSyncOrganizationSettings,
    ) -> Result<crate::cmdlets::Response<crate::models::ActiveSyncOrganizationSettings>> {
        (**self)
            .get_active_sync_organization_settings(request)
            .await
    }
    async fn new_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::NewMobileDeviceMailboxPolicy,
    ) -> Result<crate::cmdlets::Response<Option<crate::models::MobileDeviceMailboxPolicy>>> {
        (**self).new_mobile_device_mailbox_policy(request).await
    }
    async fn new_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::NewActiveSyncDeviceAccessRule,
    ) -> Result<crate::cmdlets::Response<Option<crate::models::ActiveSyncDeviceAccessRule>>> {
        (**self).new_active_sync_device_access_rule(request).await
    }
    async fn set_active_sync_organization_settings(
        &self,
        request: crate::cmdlets::SetActiveSyncOrganizationSettings,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self)
            .set_active_sync_organization_settings(request)
            .await
    }
    async fn set_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::SetMobileDeviceMailboxPolicy,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self).set_mobile_device_mailbox_policy(request).await
    }
    async fn remove_mobile_device_mailbox_policy(
        &self,
        request: crate::cmdlets::RemoveMobileDeviceMailboxPolicy,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self).remove_mobile_device_mailbox_policy(request).await
    }
    async fn set_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::SetActiveSyncDeviceAccessRule,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self).set_active_sync_device_access_rule(request).await
    }
    async fn remove_active_sync_device_access_rule(
        &self,
        request: crate::cmdlets::RemoveActiveSyncDeviceAccessRule,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self)
            .remove_active_sync_device_access_rule(request)
            .await
    }
    async fn clear_mobile_device(
        &self,
        request: crate::cmdlets::ClearMobileDevice,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self).clear_mobile_device(request).await
    }
    async fn remove_mobile_device(
        &self,
        request: crate::cmdlets::RemoveMobileDevice,
    ) -> Result<crate::cmdlets::Outcome> {
        (**self).remove_mobile_device(request).await
    }
}

/// One decoded page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Where the next page is (`None` on the last page).
    pub next_link: Option<NextLink>,
    /// Warnings the service returned with this page.
    pub warnings: Vec<Warning>,
    /// `@adminapi.confirmationmessage`, if any.
    pub confirmation_message: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items` with no continuation and no warnings.
    pub fn new(items: Vec<T>) -> Self {
        Page {
            items,
            next_link: None,
            warnings: Vec::new(),
            confirmation_message: None,
        }
    }

    /// Set the continuation.
    pub fn with_next_link(mut self, next: Option<NextLink>) -> Self {
        self.next_link = next;
        self
    }

    /// Add warnings.
    pub fn with_warnings(mut self, warnings: Vec<Warning>) -> Self {
        self.warnings.extend(warnings);
        self
    }

    /// Whether the service stopped at `ResultSize` and said so on this, the last page.
    pub fn is_truncated(&self) -> bool {
        self.next_link.is_none() && self.warnings.iter().any(Warning::is_truncation)
    }

    /// Decode a raw page.
    pub fn from_raw(raw: RawPage) -> Result<Page<T>>
    where
        T: DeserializeOwned,
    {
        let items = raw.rows()?;
        Ok(Page {
            items,
            next_link: raw.next_link,
            warnings: raw.warnings,
            confirmation_message: raw.confirmation_message,
        })
    }
}

/// Every row of a call, with what the service said along the way.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Listing<T> {
    /// All rows, in the order the service sent them.
    pub items: Vec<T>,
    /// Every warning the service returned (truncation warnings that paging resolved are left
    /// out; one on the last page is kept and sets `truncated`).
    pub warnings: Vec<Warning>,
    /// The service stopped before the end (a `ResultSize` limit) and said so.
    pub truncated: bool,
    /// `@adminapi.confirmationmessage`, if any.
    pub confirmation_message: Option<String>,
    /// Number of pages fetched.
    pub pages: usize,
    /// Times the enumeration restarted from the first page after its continuation expired.
    pub restarts: u32,
    /// Rows left out because they had already been returned before a restart (same `Guid`,
    /// else `Identity`).
    pub duplicates_skipped: usize,
}

impl<T> Listing<T> {
    /// A listing of `items` with no warnings.
    pub fn new(items: Vec<T>) -> Self {
        Listing {
            items,
            warnings: Vec::new(),
            truncated: false,
            confirmation_message: None,
            pages: 1,
            restarts: 0,
            duplicates_skipped: 0,
        }
    }

    /// The same listing with other items.
    pub fn map_items<U>(self, items: Vec<U>) -> Listing<U> {
        Listing {
            items,
            warnings: self.warnings,
            truncated: self.truncated,
            confirmation_message: self.confirmation_message,
            pages: self.pages,
            restarts: self.restarts,
            duplicates_skipped: self.duplicates_skipped,
        }
    }

    /// The first row, if any.
    pub fn into_first(self) -> Option<T> {
        self.items.into_iter().next()
    }
}

/// What an [`ObjectStream`] has seen so far.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StreamReport {
    /// Warnings returned so far (see [`Listing::warnings`]).
    pub warnings: Vec<Warning>,
    /// Pages fetched so far.
    pub pages: usize,
    /// Rows yielded so far.
    pub items: usize,
    /// The service stopped early and said so.
    pub truncated: bool,
    /// The last page has been read.
    pub complete: bool,
    /// The continuation of the next page to fetch, for checkpointing.
    pub next_link: Option<NextLink>,
    /// Times the enumeration restarted from the first page after its continuation expired.
    pub restarts: u32,
    /// Rows left out because they had already been yielded before a restart.
    pub duplicates_skipped: usize,
}

/// A stream of rows across pages, which also records warnings.
pub struct ObjectStream<'a, T> {
    inner: BoxStream<'a, Result<T>>,
    report: Arc<Mutex<StreamReport>>,
}

impl<'a, T> ObjectStream<'a, T> {
    /// Wrap any stream of rows (for test doubles); its report stays empty unless `report`
    /// is shared with the producer.
    pub fn new(inner: BoxStream<'a, Result<T>>, report: Arc<Mutex<StreamReport>>) -> Self {
        ObjectStream { inner, report }
    }

    /// A stream that yields one error.
    pub fn from_error(error: Error) -> Self
    where
        T: Send + 'a,
    {
        ObjectStream::new(
            stream::once(async move { Err(error) }).boxed(),
            Arc::default(),
        )
    }

    /// A snapshot of what the stream has seen so far.
    pub fn report(&self) -> StreamReport {
        self.report
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Warnings returned so far.
    pub fn warnings(&self) -> Vec<Warning> {
        self.report().warnings
    }

    /// Drain the stream into a [`Listing`].
    pub async fn collect_listing(mut self) -> Result<Listing<T>> {
        let mut items = Vec::new();
        while let Some(item) = self.inner.next().await {
            items.push(item?);
        }
        let report = self.report();
        Ok(Listing {
            items,
            warnings: report.warnings,
            truncated: report.truncated,
            confirmation_message: None,
            pages: report.pages,
            restarts: report.restarts,
            duplicates_skipped: report.duplicates_skipped,
        })
    }
}

impl<T> Stream for ObjectStream<'_, T> {
    type Item = Result<T>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> fmt::Debug for ObjectStream<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStream")
            .field("report", &self.report())
            .finish_non_exhaustive()
    }
}

/// Fold one page's warnings into a report: a truncation warning is dropped when a next page
/// follows (paging resolves it) and kept, with `truncated` set, on the last page.
fn absorb_warnings(report: &mut StreamReport, warnings: Vec<Warning>, has_next: bool) {
    for w in warnings {
        if w.is_truncation() {
            if has_next {
                continue;
            }
            report.truncated = true;
        }
        #[cfg(feature = "tracing")]
        tracing::warn!(cmdlet = w.cmdlet.as_deref().unwrap_or(""), warning = %w.message, "service warning");
        report.warnings.push(w);
    }
}

/// Fetch and decode one page of `invocation`.
pub async fn page_of<T, C>(
    client: &C,
    invocation: &Invocation,
    continuation: Option<&NextLink>,
) -> Result<Page<T>>
where
    T: DeserializeOwned,
    C: ExchangeClient + ?Sized,
{
    Page::from_raw(client.invoke_page(invocation, continuation).await?)
}

/// Stream every row of `invocation`, following `@odata.nextLink`, starting at `start`
/// (`None` = the first page). Memory is bounded by one page.
pub fn stream_invocation<'a, T, C>(
    client: &'a C,
    invocation: Invocation,
    start: Option<NextLink>,
) -> ObjectStream<'a, T>
where
    T: DeserializeOwned + Send + 'a,
    C: ExchangeClient + ?Sized,
{
    if let Err(e) = invocation.validate() {
        return ObjectStream::from_error(e);
    }
    let invocation = Arc::new(invocation);
    let cmdlet = invocation.cmdlet().to_string();
    let enumerates = invocation.is_enumeration();
    stream_pages_from(cmdlet, start, move |next| {
        let invocation = invocation.clone();
        Box::pin(async move {
            let raw = client.invoke_page(&invocation, next.as_ref()).await?;
            let keys = if enumerates {
                RowKey::of_raw(&raw)
            } else {
                None
            };
            Ok((Page::from_raw(raw)?, keys))
        })
    })
}

/// The `@odata.nextLink`s one enumeration has followed: a link the service returns a second
/// time (right away or after a detour) would make paging loop forever, so it ends the
/// enumeration with an error instead.
#[derive(Debug, Default)]
pub(crate) struct SeenLinks(std::collections::HashSet<NextLink>);

impl SeenLinks {
    /// Forget every link (a restarted enumeration starts over).
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }

    /// Record `link`; an error if it was seen before in this enumeration.
    pub(crate) fn check(&mut self, cmdlet: &str, link: Option<&NextLink>) -> Result<()> {
        match link {
            Some(link) if !self.0.insert(link.clone()) => Err(Error::Decode {
                cmdlet: cmdlet.to_string(),
                message: format!(
                    "the service returned an @odata.nextLink it had already returned ({link:?}); \
                     paging would loop"
                ),
                body_snippet: String::new(),
            }),
            _ => Ok(()),
        }
    }
}

/// Most restarts from the first page of one enumeration whose continuation expired.
pub const MAX_PAGING_RESTARTS: u32 = 3;

/// Most consecutive empty pages that still carry an `@odata.nextLink`: the next one ends the
/// enumeration with an error instead of paging forever.
pub const MAX_EMPTY_PAGES: u32 = 16;

/// The stable key of a row, for de-duplication after a restart: its `Guid`, else its
/// `Identity` (case-insensitive). Only keys are kept, never whole rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RowKey {
    Guid(uuid::Uuid),
    Identity(String),
}

impl RowKey {
    fn of(guid: Option<uuid::Uuid>, identity: Option<&str>) -> Option<RowKey> {
        guid.map(RowKey::Guid).or_else(|| {
            identity
                .filter(|i| !i.trim().is_empty())
                .map(|i| RowKey::Identity(i.to_lowercase()))
        })
    }

    /// The keys of the rows of a raw page, or `None` when the rows are not objects.
    fn of_raw(raw: &RawPage) -> Option<Vec<Option<RowKey>>> {
        #[derive(serde::Deserialize)]
        struct Probe {
            #[serde(rename = "Guid", default)]
            guid: Option<serde_json::Value>,
            #[serde(rename = "Identity", default)]
            identity: Option<serde_json::Value>,
        }
        let probes: Vec<Probe> = raw.rows().ok()?;
        Some(
            probes
                .into_iter()
                .map(|p| {
                    let guid = p
                        .guid
                        .as_ref()
                        .and_then(serde_json::Value::as_str)
                        .and_then(|g| uuid::Uuid::parse_str(g.trim()).ok());
                    RowKey::of(
                        guid,
                        p.identity.as_ref().and_then(serde_json::Value::as_str),
                    )
                })
                .collect(),
        )
    }
}

/// Typed rows with a stable key (the enumerated models).
pub(crate) trait KeyedRow {
    /// The row's `Guid`, else its `Identity`.
    fn row_key(&self) -> Option<RowKey>;
}

macro_rules! keyed_rows {
    ($($t:ty),* $(,)?) => {$(
        impl KeyedRow for $t {
            fn row_key(&self) -> Option<RowKey> {
                RowKey::of(self.guid, self.identity.as_deref())
            }
        }
    )*};
}

keyed_rows!(
    crate::models::MobileDevice,
    crate::models::MobileDeviceStatistics,
    crate::models::MobileDeviceMailboxPolicy,
    crate::models::ActiveSyncDeviceAccessRule,
    crate::models::ActiveSyncDeviceClass,
    crate::models::Recipient,
);

/// One page with the stable keys of its rows (`None`: the keys are unknown).
type KeyedPage<T> = (Page<T>, Option<Vec<Option<RowKey>>>);

/// The paging rules every collect and stream of this module follows, in one place:
///
/// * only an enumeration ([`Invocation::is_enumeration`]) follows `@odata.nextLink`; any other
///   cmdlet (single-object Gets, New-, Set-, Remove-, Clear-) is sent exactly once per call,
///   and a continuation on its answer becomes a [`Warning`] instead of a second POST;
/// * a link returned twice, or [`MAX_EMPTY_PAGES`] empty pages in a row that still link on,
///   end the enumeration with an error;
/// * an expired continuation ("Expired or Invalid pagination request") restarts the
///   enumeration from the first page, at most [`MAX_PAGING_RESTARTS`] times, when every row
///   so far had a stable key (`Guid`, else `Identity`); rows already returned are skipped.
#[derive(Debug)]
pub(crate) struct Pager {
    cmdlet: String,
    enumerates: bool,
    next: Option<NextLink>,
    done: bool,
    seen_links: SeenLinks,
    keys: std::collections::HashSet<RowKey>,
    /// A row without a key was returned (or the enumeration resumed from a checkpoint): a
    /// restart could not skip what was already returned, so none is made.
    keyless: bool,
    restarts: u32,
    empty_run: u32,
}

impl Pager {
    /// Paging of `cmdlet`, from `start` (`None` = the first page).
    pub(crate) fn new(cmdlet: &str, start: Option<NextLink>) -> Pager {
        let mut seen_links = SeenLinks::default();
        if let Some(start) = &start {
            seen_links.0.insert(start.clone());
        }
        Pager {
            cmdlet: cmdlet.to_string(),
            enumerates: crate::protocol::is_enumeration(cmdlet),
            keyless: start.is_some(),
            next: start,
            done: false,
            seen_links,
            keys: Default::default(),
            restarts: 0,
            empty_run: 0,
        }
    }

    /// What to fetch next: `None` when finished, else the continuation (`Some(None)` = the
    /// first page).
    pub(crate) fn pending(&self) -> Option<Option<NextLink>> {
        (!self.done).then(|| self.next.clone())
    }

    /// The keys of a raw page's rows, when this is an enumeration.
    fn keys_of_raw(&self, raw: &RawPage) -> Option<Vec<Option<RowKey>>> {
        if self.enumerates {
            RowKey::of_raw(raw)
        } else {
            None
        }
    }

    /// Take one page: the rows to hand out (duplicates of rows already returned are
    /// skipped), with the report updated.
    pub(crate) fn accept<T>(
        &mut self,
        page: Page<T>,
        keys: Option<Vec<Option<RowKey>>>,
        report: &mut StreamReport,
    ) -> Result<Vec<T>> {
        let Page {
            items,
            next_link,
            mut warnings,
            confirmation_message: _,
        } = page;
        let following = match next_link {
            Some(_) if !self.enumerates => {
                warnings.push(Warning::new(
                    format!(
                        "the service offered a continuation (@odata.nextLink) for {}, which \
                         does not enumerate objects; it was not followed (the cmdlet was sent \
                         once)",
                        self.cmdlet
                    ),
                    Some(self.cmdlet.clone()),
                ));
                None
            }
            other => other,
        };
        self.seen_links.check(&self.cmdlet, following.as_ref())?;
        if following.is_some() && items.is_empty() {
            self.empty_run += 1;
            if self.empty_run >= MAX_EMPTY_PAGES {
                return Err(Error::Decode {
                    cmdlet: self.cmdlet.clone(),
                    message: format!(
                        "the service returned {} empty pages in a row, each with a new \
                         @odata.nextLink; paging stopped",
                        self.empty_run
                    ),
                    body_snippet: String::new(),
                });
            }
        } else {
            self.empty_run = 0;
        }
        report.pages += 1;
        absorb_warnings(report, warnings, following.is_some());
        let items = self.dedupe(items, keys, report);
        report.items += items.len();
        self.done = following.is_none();
        self.next = following;
        report.next_link = self.next.clone();
        report.complete = self.done;
        report.restarts = self.restarts;
        Ok(items)
    }

    fn dedupe<T>(
        &mut self,
        items: Vec<T>,
        keys: Option<Vec<Option<RowKey>>>,
        report: &mut StreamReport,
    ) -> Vec<T> {
        if !self.enumerates || items.is_empty() {
            return items;
        }
        let Some(keys) = keys.filter(|k| k.len() == items.len()) else {
            self.keyless = true;
            return items;
        };
        let mut kept = Vec::with_capacity(items.len());
        for (item, key) in items.into_iter().zip(keys) {
            match key {
                Some(key) => {
                    if self.keys.insert(key) {
                        kept.push(item);
                    } else {
                        report.duplicates_skipped += 1;
                    }
                }
                None => {
                    self.keyless = true;
                    kept.push(item);
                }
            }
        }
        kept
    }

    /// Decide after a failed page: `Ok(())` when the enumeration restarts from the first page
    /// (an expired continuation, within the bound), otherwise the error.
    pub(crate) fn recover(&mut self, error: Error, report: &mut StreamReport) -> Result<()> {
        let restartable = self.enumerates
            && self.next.is_some()
            && !self.keyless
            && error.is_pagination_expired()
            && self.restarts < MAX_PAGING_RESTARTS;
        if !restartable {
            return Err(error);
        }
        #[cfg(feature = "tracing")]
        tracing::warn!(cmdlet = %self.cmdlet, error = %error, "enumeration restarts from the first page");
        self.restarts += 1;
        self.next = None;
        self.seen_links.clear();
        self.empty_run = 0;
        report.restarts = self.restarts;
        report.next_link = None;
        Ok(())
    }
}

/// Collect every row of `invocation` across all pages (see [`ObjectStream`] for the paging
/// rules: only enumerations follow `@odata.nextLink`, an expired continuation restarts with
/// de-duplication).
pub async fn collect_invocation<T, C>(client: &C, invocation: &Invocation) -> Result<Listing<T>>
where
    T: DeserializeOwned + Send,
    C: ExchangeClient + ?Sized,
{
    invocation.validate()?;
    let mut pager = Pager::new(invocation.cmdlet(), None);
    let mut report = StreamReport::default();
    let mut items = Vec::new();
    let mut confirmation = None;
    while let Some(next) = pager.pending() {
        let raw = match client.invoke_page(invocation, next.as_ref()).await {
            Ok(raw) => raw,
            Err(e) => {
                pager.recover(e, &mut report)?;
                continue;
            }
        };
        let keys = pager.keys_of_raw(&raw);
        let mut page: Page<T> = Page::from_raw(raw)?;
        if let Some(c) = page.confirmation_message.take() {
            confirmation = Some(c);
        }
        items.extend(pager.accept(page, keys, &mut report)?);
    }
    Ok(Listing {
        items,
        warnings: report.warnings,
        truncated: report.truncated,
        confirmation_message: confirmation,
        pages: report.pages,
        restarts: report.restarts,
        duplicates_skipped: report.duplicates_skipped,
    })
}

/// Generic typed helpers, available on every [`ExchangeClient`] (including `dyn`).
#[async_trait]
pub trait ExchangeClientExt: ExchangeClient {
    /// Run a typed cmdlet and collect every row.
    async fn run<C: Cmdlet + 'async_trait>(&self, cmdlet: C) -> Result<Listing<C::Output>> {
        let invocation = cmdlet.invocation()?;
        collect_invocation(self, &invocation).await
    }

    /// Stream the rows of a typed cmdlet across pages.
    fn stream<'a, C: Cmdlet + 'a>(&'a self, cmdlet: C) -> ObjectStream<'a, C::Output> {
        match cmdlet.invocation() {
            Ok(inv) => stream_invocation(self, inv, None),
            Err(e) => ObjectStream::from_error(e),
        }
    }
}

impl<T: ExchangeClient + ?Sized> ExchangeClientExt for T {}

// ---- typed cmdlet helpers ---------------------------------------------------------------

/// Stream the rows of pages produced by `fetch` (called with `None` for the first page, then
/// with each `@odata.nextLink`), recording warnings in the stream's report. A link the service
/// returns a second time is a decode error, not a loop; a continuation is followed only for an
/// enumeration ([`Invocation::is_enumeration`]). The rows' keys are not known here, so an
/// expired continuation is not restarted (the typed `*_stream` methods do restart).
pub fn stream_pages<'a, T, F>(cmdlet: &'static str, fetch: F) -> ObjectStream<'a, T>
where
    T: Send + 'a,
    F: Fn(Option<NextLink>) -> futures::future::BoxFuture<'a, Result<Page<T>>> + Send + Sync + 'a,
{
    let fetch = Arc::new(fetch);
    stream_pages_from(cmdlet.to_string(), None, move |next| {
        let fetch = fetch.clone();
        Box::pin(async move { Ok((fetch(next).await?, None)) })
    })
}

/// [`stream_pages`] over rows with a stable key: an expired continuation restarts the
/// enumeration from the first page and rows already yielded are skipped.
pub(crate) fn stream_keyed_pages<'a, T, F>(cmdlet: &'static str, fetch: F) -> ObjectStream<'a, T>
where
    T: KeyedRow + Send + 'a,
    F: Fn(Option<NextLink>) -> futures::future::BoxFuture<'a, Result<Page<T>>> + Send + Sync + 'a,
{
    let fetch = Arc::new(fetch);
    stream_pages_from(cmdlet.to_string(), None, move |next| {
        let fetch = fetch.clone();
        Box::pin(async move {
            let page = fetch(next).await?;
            let keys = page.items.iter().map(KeyedRow::row_key).collect();
            Ok((page, Some(keys)))
        })
    })
}

/// The one stream loop: pages from `fetch`, starting at `start` (`None` = the first page),
/// under the rules of [`Pager`].
fn stream_pages_from<'a, T, F>(
    cmdlet: String,
    start: Option<NextLink>,
    fetch: F,
) -> ObjectStream<'a, T>
where
    T: Send + 'a,
    F: Fn(Option<NextLink>) -> futures::future::BoxFuture<'a, Result<KeyedPage<T>>>
        + Send
        + Sync
        + 'a,
{
    let report = Arc::new(Mutex::new(StreamReport {
        next_link: start.clone(),
        ..Default::default()
    }));
    let shared = report.clone();
    let fetch = Arc::new(fetch);
    let pager = Pager::new(&cmdlet, start);
    let pages = stream::try_unfold((pager, shared), move |(mut pager, shared)| {
        let fetch = fetch.clone();
        async move {
            // The lock guards plain bookkeeping: a poisoned one still holds usable data.
            while let Some(current) = pager.pending() {
                match fetch(current).await {
                    Ok((page, keys)) => {
                        let items = {
                            let mut r = shared.lock().unwrap_or_else(|e| e.into_inner());
                            pager.accept(page, keys, &mut r)?
                        };
                        return Ok::<_, Error>(Some((items, (pager, shared))));
                    }
                    Err(e) => {
                        let mut r = shared.lock().unwrap_or_else(|e| e.into_inner());
                        pager.recover(e, &mut r)?;
                    }
                }
            }
            Ok(None)
        }
    });
    let items = pages
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed();
    ObjectStream::new(items, report)
}

/// Run a single-object cmdlet: the first row, or a decode error when there is none.
pub async fn run_single<C, X>(
    client: &X,
    request: &C,
) -> Result<crate::cmdlets::Response<C::Output>>
where
    C: Cmdlet,
    X: ExchangeClient + ?Sized,
{
    let prepared = crate::cmdlets::PreparedCmdlet::new(request)?;
    let listing = collect_invocation::<C::Output, _>(client, prepared.invocation()).await?;
    let warnings = listing.warnings;
    let confirmation_message = listing.confirmation_message;
    match listing.items.into_iter().next() {
        Some(value) => {
            let mut r = crate::cmdlets::Response::new(value);
            r.warnings = warnings;
            r.confirmation_message = confirmation_message;
            Ok(r)
        }
        None => Err(Error::Decode {
            cmdlet: C::NAME.to_string(),
            message: "the service returned no object".into(),
            body_snippet: String::new(),
        }),
    }
}

/// Run a New-* cmdlet: the created object (if the service returned it) and warnings.
pub async fn run_created<C, X>(
    client: &X,
    request: &C,
) -> Result<crate::cmdlets::Response<Option<C::Output>>>
where
    C: Cmdlet,
    X: ExchangeClient + ?Sized,
{
    let prepared = crate::cmdlets::PreparedCmdlet::new(request)?;
    let listing = collect_invocation::<C::Output, _>(client, prepared.invocation()).await?;
    let mut r = crate::cmdlets::Response::new(None);
    r.warnings = listing.warnings;
    r.confirmation_message = listing.confirmation_message;
    r.value = listing.items.into_iter().next();
    Ok(r)
}

/// Run a Set-, Remove- or Clear- cmdlet: warnings and confirmation message only (rows, if
/// any, are ignored).
pub async fn run_outcome<C, X>(client: &X, request: &C) -> Result<crate::cmdlets::Outcome>
where
    C: Cmdlet,
    X: ExchangeClient + ?Sized,
{
    let prepared = crate::cmdlets::PreparedCmdlet::new(request)?;
    let listing =
        collect_invocation::<serde::de::IgnoredAny, _>(client, prepared.invocation()).await?;
    let mut o = crate::cmdlets::Outcome::with_warnings(listing.warnings);
    o.confirmation_message = listing.confirmation_message;
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Serves `pages` pages of two rows each, with a truncation warning on every page but the
    /// last (as the service does while more results exist) and one plain warning on page 2.
    struct Paged {
        pages: usize,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl ExchangeClient for Paged {
        async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let n: usize = next.map(|l| l.as_str().parse().unwrap()).unwrap_or(0);
            let rows = vec![
                json!({"N": n * 2, "X@odata.type": "#Int32"}),
                json!({"N": n * 2 + 1}),
            ];
            let mut page = RawPage::from_values(inv.cmdlet(), rows);
            if n + 1 < self.pages {
                page = page
                    .with_next_link(Some(NextLink::new((n + 1).to_string())))
                    .with_warning(crate::protocol::TRUNCATION_WARNING);
            }
            if n == 1 {
                page = page.with_warning("plain warning");
            }
            Ok(page)
        }
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Row {
        #[serde(rename = "N")]
        n: usize,
    }

    #[tokio::test]
    async fn collect_follows_pages_and_keeps_warnings() {
        let c = Paged {
            pages: 3,
            calls: AtomicUsize::new(0),
        };
        let inv = Invocation::new("Get-Thing", Parameters::new());
        let l: Listing<Row> = collect_invocation(&c, &inv).await.unwrap();
        assert_eq!(
            l.items.iter().map(|r| r.n).collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4, 5]
        );
        assert_eq!(l.pages, 3);
        assert!(!l.truncated);
        assert_eq!(l.warnings.len(), 1);
        assert_eq!(l.warnings[0].message, "plain warning");
    }

    #[tokio::test]
    async fn stream_reports_pages_and_works_through_dyn() {
        let c: Arc<dyn ExchangeClient> = Arc::new(Paged {
            pages: 4,
            calls: AtomicUsize::new(0),
        });
        let inv = Invocation::new("Get-Thing", Parameters::new());
        let mut s = stream_invocation::<Row, _>(c.as_ref(), inv, None);
        let mut seen = Vec::new();
        while let Some(r) = s.next().await {
            seen.push(r.unwrap().n);
        }
        assert_eq!(seen, (0..8).collect::<Vec<_>>());
        let rep = s.report();
        assert_eq!((rep.pages, rep.items, rep.complete), (4, 8, true));
        assert_eq!(rep.warnings.len(), 1);
        let raw = c.invoke_raw("Get-Thing", Parameters::new()).await.unwrap();
        assert_eq!(raw.items.len(), 8);
        assert!(raw.items.iter().all(|m| m.keys().all(|k| !k.contains('@'))));
    }

    #[tokio::test]
    async fn truncation_on_last_page_is_reported() {
        struct Trunc;
        #[async_trait]
        impl ExchangeClient for Trunc {
            async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
                Ok(RawPage::from_values(inv.cmdlet(), vec![json!({"N": 1})])
                    .with_warning(crate::protocol::TRUNCATION_WARNING))
            }
        }
        let l: Listing<Row> =
            collect_invocation(&Trunc, &Invocation::new("Get-X", Parameters::new()))
                .await
                .unwrap();
        assert!(l.truncated);
        assert_eq!(l.warnings.len(), 1);
    }

    #[tokio::test]
    async fn repeated_next_link_is_an_error_not_a_loop() {
        struct Loop;
        #[async_trait]
        impl ExchangeClient for Loop {
            async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
                Ok(RawPage::from_values(inv.cmdlet(), vec![json!({"N": 1})])
                    .with_next_link(Some(NextLink::new("same"))))
            }
        }
        let r =
            collect_invocation::<Row, _>(&Loop, &Invocation::new("Get-X", Parameters::new())).await;
        assert!(matches!(r, Err(Error::Decode { .. })));
    }

    #[tokio::test]
    async fn a_paging_cycle_is_an_error_not_a_loop() {
        /// Pages link first → "a" → "b" → "a" → …
        struct Cycle;
        #[async_trait]
        impl ExchangeClient for Cycle {
            async fn invoke_page(
                &self,
                inv: &Invocation,
                next: Option<&NextLink>,
            ) -> Result<RawPage> {
                let following = match next.map(NextLink::as_str) {
                    None | Some("b") => "a",
                    _ => "b",
                };
                Ok(RawPage::from_values(inv.cmdlet(), vec![json!({"N": 1})])
                    .with_next_link(Some(NextLink::new(following))))
            }
        }
        let inv = Invocation::new("Get-X", Parameters::new());
        let collected = collect_invocation::<Row, _>(&Cycle, &inv).await;
        assert!(
            matches!(collected, Err(Error::Decode { .. })),
            "{collected:?}"
        );
        let mut stream = stream_invocation::<Row, _>(&Cycle, inv, None);
        let mut rows = 0;
        let mut failed = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => rows += 1,
                Err(e) => {
                    assert!(matches!(e, Error::Decode { .. }));
                    failed = true;
                }
            }
        }
        assert!(failed, "the stream must end with an error");
        assert_eq!(
            rows, 2,
            "pages first and a are yielded; b links back to a and is refused"
        );
        assert!(!stream.report().complete);
    }

    fn expired() -> Error {
        Error::Api(Box::new(crate::error::ApiError::new(
            400,
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
        )))
    }

    /// Answers every call with one row and a fresh `@odata.nextLink` (until the third call
    /// of a follow-up chain), whatever the cmdlet.
    struct AlwaysMore {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl ExchangeClient for AlwaysMore {
        async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let page = RawPage::from_values(inv.cmdlet(), vec![json!({"N": n})]);
            Ok(if n < 2 {
                page.with_next_link(Some(NextLink::new(format!("https://x.invalid/{n}"))))
            } else {
                page
            })
        }
    }

    fn offered_continuation(warnings: &[Warning]) -> bool {
        warnings
            .iter()
            .any(|w| w.message.contains("@odata.nextLink") && w.message.contains("not followed"))
    }

    #[tokio::test]
    async fn a_continuation_on_a_write_answer_is_not_followed() {
        use crate::cmdlets::{
            ClearMobileDevice, GetActiveSyncOrganizationSettings, NewActiveSyncDeviceAccessRule,
            SetActiveSyncOrganizationSettings, WipeIntent,
        };
        use crate::types::MobileDeviceIdentity;
        let c = AlwaysMore {
            calls: AtomicUsize::new(0),
        };
        let id = MobileDeviceIdentity::parse("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap();
        let o = c
            .clear_mobile_device(ClearMobileDevice::new(id, WipeIntent::FullWipe))
            .await
            .unwrap();
        assert_eq!(
            c.calls.swap(0, Ordering::SeqCst),
            1,
            "the wipe is POSTed once"
        );
        assert!(offered_continuation(&o.warnings), "{o:?}");

        let o = c
            .set_active_sync_organization_settings(SetActiveSyncOrganizationSettings::new())
            .await
            .unwrap();
        assert_eq!(c.calls.swap(0, Ordering::SeqCst), 1);
        assert!(offered_continuation(&o.warnings), "{o:?}");

        let r = c
            .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
            .await
            .unwrap();
        assert_eq!(c.calls.swap(0, Ordering::SeqCst), 1);
        assert!(offered_continuation(&r.warnings), "{r:?}");

        let _ = c
            .new_active_sync_device_access_rule(
                NewActiveSyncDeviceAccessRule::new(
                    "iPhone",
                    crate::models::DeviceAccessCharacteristic::DeviceModel,
                    crate::models::DeviceAccessLevel::Block,
                )
                .unwrap(),
            )
            .await;
        assert_eq!(c.calls.swap(0, Ordering::SeqCst), 1);

        // The raw path obeys the same rule.
        let mut p = Parameters::new();
        p.string("Identity", "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60");
        let l = c.invoke_raw("clear-mobiledevice", p).await.unwrap();
        assert_eq!(c.calls.swap(0, Ordering::SeqCst), 1);
        assert_eq!(l.pages, 1);
        assert!(offered_continuation(&l.warnings), "{l:?}");
        let mut s = stream_invocation::<Row, _>(
            &c,
            Invocation::new("Set-CASMailbox", Parameters::new()),
            None,
        );
        while s.next().await.is_some() {}
        assert_eq!(c.calls.swap(0, Ordering::SeqCst), 1);
        assert!(s.report().complete);
        assert!(offered_continuation(&s.report().warnings));
    }

    #[tokio::test]
    async fn a_malformed_cmdlet_name_is_refused_before_anything_is_sent() {
        let c = AlwaysMore {
            calls: AtomicUsize::new(0),
        };
        for name in [
            " Clear-MobileDevice",
            "Clear-MobileDevice\t",
            "Clear-Mobile Device",
        ] {
            let mut p = Parameters::new();
            p.string("Identity", "*");
            let e = c.invoke_raw(name, p).await.unwrap_err();
            assert!(e.is_invalid_input(), "{name:?}: {e:?}");
            let mut s =
                stream_invocation::<Row, _>(&c, Invocation::new(name, Parameters::new()), None);
            assert!(s.next().await.unwrap().unwrap_err().is_invalid_input());
        }
        assert_eq!(c.calls.load(Ordering::SeqCst), 0);
    }

    /// Three pages of two keyed rows; the first `expire` continuation requests fail with
    /// "Expired or Invalid pagination request".
    struct Expiring {
        expire: AtomicUsize,
        calls: AtomicUsize,
    }

    #[async_trait]
    impl ExchangeClient for Expiring {
        async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if next.is_some()
                && self
                    .expire
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            {
                return Err(expired());
            }
            let n: usize = next.map(|l| l.as_str().parse().unwrap()).unwrap_or(0);
            let rows = (0..2)
                .map(|i| {
                    json!({
                        "Guid": format!("00000000-0000-0000-0000-{:012}", n * 2 + i),
                        "Identity": format!("dev{}", n * 2 + i),
                    })
                })
                .collect();
            let page = RawPage::from_values(inv.cmdlet(), rows);
            Ok(if n < 2 {
                page.with_next_link(Some(NextLink::new((n + 1).to_string())))
            } else {
                page
            })
        }
    }

    #[tokio::test]
    async fn an_expired_continuation_restarts_collect_and_stream_without_duplicates() {
        let c = Expiring {
            expire: AtomicUsize::new(1),
            calls: AtomicUsize::new(0),
        };
        let inv = Invocation::new("Get-MobileDevice", Parameters::new());
        let l: Listing<serde_json::Value> = collect_invocation(&c, &inv).await.unwrap();
        assert_eq!(l.items.len(), 6, "{l:?}");
        assert_eq!((l.restarts, l.duplicates_skipped), (1, 2));

        c.expire.store(1, Ordering::SeqCst);
        let l = c
            .get_mobile_device(crate::cmdlets::GetMobileDevice::new())
            .await
            .unwrap();
        let guids: std::collections::HashSet<_> = l.items.iter().map(|d| d.guid).collect();
        assert_eq!((l.items.len(), guids.len()), (6, 6));
        assert_eq!((l.restarts, l.duplicates_skipped), (1, 2));

        c.expire.store(1, Ordering::SeqCst);
        let mut s = stream_invocation::<serde_json::Value, _>(&c, inv.clone(), None);
        let mut rows = 0;
        while let Some(r) = s.next().await {
            r.unwrap();
            rows += 1;
        }
        assert_eq!(rows, 6);
        let rep = s.report();
        assert_eq!(
            (rep.restarts, rep.duplicates_skipped, rep.complete),
            (1, 2, true)
        );

        // Bounded: a continuation that always expires ends with the typed error.
        c.expire.store(usize::MAX, Ordering::SeqCst);
        c.calls.store(0, Ordering::SeqCst);
        let e = collect_invocation::<serde_json::Value, _>(&c, &inv)
            .await
            .unwrap_err();
        assert!(e.is_pagination_expired(), "{e:?}");
        let restarts = MAX_PAGING_RESTARTS as usize;
        assert_eq!(c.calls.load(Ordering::SeqCst), 2 * (restarts + 1));
    }

    #[tokio::test]
    async fn rows_without_a_stable_key_are_not_restarted() {
        struct NoKeys;
        #[async_trait]
        impl ExchangeClient for NoKeys {
            async fn invoke_page(
                &self,
                inv: &Invocation,
                next: Option<&NextLink>,
            ) -> Result<RawPage> {
                match next {
                    None => Ok(RawPage::from_values(inv.cmdlet(), vec![json!({"N": 1})])
                        .with_next_link(Some(NextLink::new("1")))),
                    Some(_) => Err(expired()),
                }
            }
        }
        let inv = Invocation::new("Get-MobileDevice", Parameters::new());
        let e = collect_invocation::<Row, _>(&NoKeys, &inv)
            .await
            .unwrap_err();
        assert!(e.is_pagination_expired(), "{e:?}");
    }

    #[tokio::test]
    async fn endless_empty_pages_end_with_an_error() {
        struct Empty(AtomicUsize);
        #[async_trait]
        impl ExchangeClient for Empty {
            async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                Ok(RawPage::from_values(inv.cmdlet(), vec![])
                    .with_next_link(Some(NextLink::new(n.to_string()))))
            }
        }
        let c = Empty(AtomicUsize::new(0));
        let inv = Invocation::new("Get-MobileDevice", Parameters::new());
        let e = collect_invocation::<Row, _>(&c, &inv).await.unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert_eq!(c.0.load(Ordering::SeqCst), MAX_EMPTY_PAGES as usize);
        let mut s = stream_invocation::<Row, _>(&c, inv, None);
        assert!(matches!(s.next().await, Some(Err(Error::Decode { .. }))));
        assert_eq!(c.0.load(Ordering::SeqCst), 2 * MAX_EMPTY_PAGES as usize);
    }

    #[test]
    fn trait_is_object_safe_and_send_sync() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn ExchangeClient>();
        let _: Option<Arc<dyn ExchangeClient>> = None;
    }
}
