//! The [`ExchangeClient`] trait and the typed API over it ([`ExchangeClientExt`]).
//!
//! `ExchangeClient` is object-safe (`Arc<dyn ExchangeClient>`): it has one required method,
//! [`ExchangeClient::invoke_page`], which runs one page of any cmdlet, plus
//! [`module_file`](ExchangeClient::module_file) and
//! [`token_claims`](ExchangeClient::token_claims) with defaults. Everything else lives on
//! [`ExchangeClientExt`], implemented for every client and not overridable:
//!
//! * [`HttpExchangeClient`](crate::HttpExchangeClient) speaks the real wire protocol;
//! * `FakeExchangeClient` (test kit crate `exchange-activesync-testkit`) runs cmdlets
//!   against an in-memory tenant;
//! * the test kit's `Responder` answers typed rows per cmdlet, for mocks;
//! * your own type implements `invoke_page` (raw JSON pages).
//!
//! Paging (following `@odata.nextLink`, restarts, loop and empty-page guards) follows the
//! rules of one pager, [`crate::paging`]. Warnings are never dropped: they are returned with every
//! [`Page`] and [`Listing`], and an [`ObjectStream`] keeps them in its [`StreamReport`].

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;

use crate::auth::TokenClaims;
use crate::call::{Cmdlet, ListingShape, PreparedCmdlet, Returns, Shape};
use crate::error::{Error, Result};
use crate::paging::{self, PageSource};
pub use crate::paging::{Checkpoint, Listing, ObjectStream, Page, StreamReport};
use crate::protocol::{Invocation, NextLink, Parameters, RawPage};

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
    /// A module file listing `exported_cmdlets` with `files` (for test doubles; the HTTP
    /// client decodes the service's).
    pub fn new(exported_cmdlets: Vec<String>, files: Vec<ModuleFileEntry>) -> Self {
        ModuleFile {
            exported_cmdlets,
            files,
        }
    }

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
/// must be implemented; the typed API is [`ExchangeClientExt`], built on it.
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
}

impl<C: ExchangeClient + ?Sized> PageSource for C {
    fn fetch_page<'a>(
        &'a self,
        invocation: &'a Invocation,
        next: Option<&'a NextLink>,
    ) -> BoxFuture<'a, Result<RawPage>> {
        self.invoke_page(invocation, next)
    }
}

/// The named convenience methods, one per typed row of the catalog's table
/// (`=> Request method [/ stream_method]`; see `catalog::cmdlet_table!`).
macro_rules! named_methods {
    ($(
        $const:ident = $cmdlet:literal / $export:literal, $($field:expr),*
        $( => $req:ident $method:ident $( / $stream:ident )? )?;
    )*) => {$($(
        #[doc = concat!("`", $cmdlet, "`: [`call`](Self::call) with a [`", stringify!($req),
            "`](crate::cmdlets::", stringify!($req), ").")]
        fn $method(
            &self,
            request: crate::cmdlets::$req,
        ) -> BoxFuture<'_, Result<Returns<crate::cmdlets::$req>>> {
            self.call(request)
        }
        $(
            #[doc = concat!("`", $cmdlet, "` as a stream: [`stream`](Self::stream) with a [`",
                stringify!($req), "`](crate::cmdlets::", stringify!($req), ").")]
            fn $stream(
                &self,
                request: crate::cmdlets::$req,
            ) -> ObjectStream<'_, <crate::cmdlets::$req as Cmdlet>::Output> {
                self.stream(request)
            }
        )?
    )?)*};
}

/// The typed API, on every [`ExchangeClient`] (including `dyn ExchangeClient` and `Arc`s).
/// It has a blanket implementation and cannot be overridden: to control what a client
/// answers, implement [`ExchangeClient::invoke_page`] (or use `testing::Responder`).
///
/// ```no_run
/// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
/// use exchange_activesync::ExchangeClientExt;
/// use exchange_activesync::cmdlets::*;
/// use exchange_activesync::types::*;
/// use futures::StreamExt;
/// // a listing: every row across pages, with warnings
/// let all = client.call(GetMobileDevice::new()).await?;
/// println!("{} device(s), {} restart(s)", all.items.len(), all.restarts);
/// // the same as a stream (one page of rows in memory at a time)
/// let mut rows = client.get_mobile_device_stream(GetMobileDevice::new());
/// while let Some(row) = rows.next().await {
///     let _device = row?;
/// }
/// // a single object, a destructive cmdlet (never paged; never re-sent after an ambiguous failure)
/// let settings = client.get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new()).await?;
/// println!("{:?}", settings.value.default_access_level);
/// let id = MobileDeviceIdentity::new("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60")?;
/// let outcome = client.clear_mobile_device(ClearMobileDevice::account_only(id)).await?;
/// for w in &outcome.warnings { println!("{w}"); }
/// # Ok(()) }
/// ```
pub trait ExchangeClientExt: ExchangeClient {
    /// Run a typed cmdlet. What it returns follows from its shape: [`Listing`] (every row
    /// across pages), [`Response`](crate::Response) (single object),
    /// `Response<Option<_>>` (created object) or [`Outcome`](crate::Outcome) (no output).
    fn call<'a, C: Cmdlet + 'a>(&'a self, request: C) -> BoxFuture<'a, Result<Returns<C>>> {
        Box::pin(async move {
            let prepared = PreparedCmdlet::new(&request)?;
            self.call_prepared(prepared).await
        })
    }

    /// [`call`](Self::call) with a prepared request (e.g. with a page size).
    fn call_prepared<'a, C: Cmdlet + 'a>(
        &'a self,
        prepared: PreparedCmdlet<C>,
    ) -> BoxFuture<'a, Result<Returns<C>>> {
        Box::pin(async move {
            let listing = paging::collect::<C::Output, _>(self, prepared.into_invocation()).await?;
            C::Shape::finish(C::INFO.name, listing)
        })
    }

    /// Stream the rows of a listing across pages (one page of rows in memory at a time, plus
    /// each row's key and each next link seen, for the restart and loop guards); warnings and
    /// restarts are kept in the stream's report. Only listings can be streamed.
    fn stream<'a, C>(&'a self, request: C) -> ObjectStream<'a, C::Output>
    where
        C: Cmdlet<Shape = ListingShape> + 'a,
    {
        match PreparedCmdlet::new(&request) {
            Ok(prepared) => self.stream_prepared(prepared, None),
            Err(e) => ObjectStream::from_error(e),
        }
    }

    /// [`stream`](Self::stream) a prepared request from `start` (`None`: the first page;
    /// otherwise a checkpoint, [`StreamReport::next_link`]).
    fn stream_prepared<'a, C>(
        &'a self,
        prepared: PreparedCmdlet<C>,
        start: Option<NextLink>,
    ) -> ObjectStream<'a, C::Output>
    where
        C: Cmdlet<Shape = ListingShape> + 'a,
    {
        paging::stream(self, prepared.into_invocation(), start)
    }

    /// [`stream`](Self::stream) a prepared request from a [`Checkpoint`] taken with
    /// [`ObjectStream::checkpoint`]: no row is lost and none is returned twice, also when the
    /// checkpoint's continuation has expired (the enumeration then restarts from the first
    /// page and skips the rows the checkpoint returned).
    fn stream_from<'a, C>(
        &'a self,
        prepared: PreparedCmdlet<C>,
        checkpoint: Checkpoint,
    ) -> ObjectStream<'a, C::Output>
    where
        C: Cmdlet<Shape = ListingShape> + 'a,
    {
        paging::stream(
            self,
            prepared.into_invocation(),
            paging::Start::Checkpoint(checkpoint),
        )
    }

    /// One page of a listing: the first when `next` is `None`, otherwise the page behind that
    /// link. The prepared request keeps one `client-request-id` for every page.
    fn page<'a, C>(
        &'a self,
        prepared: &'a PreparedCmdlet<C>,
        next: Option<&'a NextLink>,
    ) -> BoxFuture<'a, Result<Page<C::Output>>>
    where
        C: Cmdlet<Shape = ListingShape> + 'a,
    {
        Box::pin(
            async move { Page::from_raw(self.invoke_page(prepared.invocation(), next).await?) },
        )
    }

    /// Run any cmdlet and collect its output as JSON objects (annotation keys removed), with
    /// the same paging rules as typed calls (a cmdlet of the catalog that is not a listing is
    /// never paged: a continuation on its answer is not followed). Destructive cmdlets still get the local identity checks and
    /// `Confirm: false`.
    ///
    /// ```no_run
    /// # async fn demo(client: &dyn exchange_activesync::ExchangeClient) -> exchange_activesync::Result<()> {
    /// use exchange_activesync::ExchangeClientExt;
    /// use exchange_activesync::protocol::Parameters;
    /// let mut p = Parameters::new();
    /// p.string("Identity", "alice@contoso.com");
    /// let rows = client.invoke_raw("Get-CASMailbox", p).await?;
    /// println!("{} row(s), {} warning(s)", rows.items.len(), rows.warnings.len());
    /// # Ok(()) }
    /// ```
    fn invoke_raw<'a>(
        &'a self,
        cmdlet: &'a str,
        parameters: Parameters,
    ) -> BoxFuture<'a, Result<Listing<serde_json::Map<String, serde_json::Value>>>> {
        self.invoke_invocation(Invocation::new(cmdlet, parameters))
    }

    /// [`invoke_raw`](Self::invoke_raw) for an invocation built by hand (with `$select`, a
    /// page size or a routing hint).
    fn invoke_invocation<'a>(
        &'a self,
        invocation: Invocation,
    ) -> BoxFuture<'a, Result<Listing<serde_json::Map<String, serde_json::Value>>>> {
        Box::pin(async move {
            let mut listing = paging::collect::<serde_json::Value, _>(self, invocation).await?;
            let items = std::mem::take(&mut listing.items)
                .into_iter()
                .filter_map(|v| match v {
                    serde_json::Value::Object(m) => Some(crate::protocol::strip_annotations(m)),
                    _ => None,
                })
                .collect();
            Ok(listing.map_items(items))
        })
    }

    crate::catalog::cmdlet_table!(named_methods);
}

impl<T: ExchangeClient + ?Sized> ExchangeClientExt for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
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
        let l: Listing<Row> = paging::collect(&c, inv.clone()).await.unwrap();
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
        let mut s = paging::stream::<Row, _>(c.as_ref(), inv, None);
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
            paging::collect::<Row, _>(&Trunc, Invocation::new("Get-X", Parameters::new()))
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
        let r = paging::collect::<Row, _>(&Loop, Invocation::new("Get-X", Parameters::new())).await;
        assert!(matches!(r, Err(Error::Paging { .. })));
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
        let collected = paging::collect::<Row, _>(&Cycle, inv.clone()).await;
        assert!(
            matches!(collected, Err(Error::Paging { .. })),
            "{collected:?}"
        );
        let mut stream = paging::stream::<Row, _>(&Cycle, inv, None);
        let mut rows = 0;
        let mut failed = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => rows += 1,
                Err(e) => {
                    assert!(matches!(e, Error::Paging { .. }));
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

    /// Answers every call with one row and a next link, and counts the calls.
    struct AlwaysMore(AtomicUsize);

    #[async_trait]
    impl ExchangeClient for AlwaysMore {
        async fn invoke_page(&self, inv: &Invocation, _: Option<&NextLink>) -> Result<RawPage> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(RawPage::from_values(inv.cmdlet(), vec![json!({"N": n})])
                .with_next_link(Some(NextLink::new(format!("next-{n}")))))
        }
    }

    #[tokio::test]
    async fn a_destructive_cmdlet_is_posted_once_whatever_the_answer_says() {
        use crate::cmdlets::ClearMobileDevice;
        use crate::types::MobileDeviceIdentity;
        let c = AlwaysMore(AtomicUsize::new(0));
        let id = MobileDeviceIdentity::new("5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60").unwrap();
        let outcome = c
            .clear_mobile_device(ClearMobileDevice::account_only(id))
            .await
            .unwrap();
        assert_eq!(
            c.0.load(Ordering::SeqCst),
            1,
            "exactly one invoke_page call"
        );
        assert!(
            outcome
                .warnings
                .iter()
                .any(|w| w.message.contains("not followed")),
            "{outcome:?}"
        );
        // a raw call of a catalog cmdlet obeys the same rule
        let mut p = Parameters::new();
        p.string("Identity", "5c1f6a2e-0d4b-4a5e-9a0f-2b1d3c4e5f60");
        let raw = c.invoke_raw("clear-mobiledevice", p).await.unwrap();
        assert_eq!(c.0.load(Ordering::SeqCst), 2, "one more call, not a loop");
        assert_eq!(raw.pages, 1);
        // a single-object read is not paged either
        let s = c
            .get_active_sync_organization_settings(
                crate::cmdlets::GetActiveSyncOrganizationSettings::new(),
            )
            .await
            .unwrap();
        assert_eq!(c.0.load(Ordering::SeqCst), 3);
        assert_eq!(s.warnings.len(), 1);
    }

    #[tokio::test]
    async fn a_malformed_cmdlet_name_is_refused_before_anything_is_sent() {
        let c = AlwaysMore(AtomicUsize::new(0));
        for name in [
            " Clear-MobileDevice",
            "Clear-MobileDevice\t",
            "Clear-Mobile Device",
            "Clear-MobileDevice\r\n",
        ] {
            let mut p = Parameters::new();
            p.string("Identity", "*");
            let e = c.invoke_raw(name, p).await.unwrap_err();
            assert!(e.is_invalid_input(), "{name:?}: {e:?}");
        }
        assert_eq!(c.0.load(Ordering::SeqCst), 0, "nothing was sent");
    }

    /// Get-MobileDevice over five devices in pages of two; the first continuation it hands
    /// out expires once (the next fetch of it fails), as after a 30-minute pause.
    struct Expiring {
        calls: AtomicUsize,
        expired: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl ExchangeClient for Expiring {
        async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let start: usize = next.map(|l| l.as_str().parse().unwrap()).unwrap_or(0);
            if start > 0 && !self.expired.swap(true, Ordering::SeqCst) {
                return Err(crate::error::ApiError::new(
                    400,
                    "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
                )
                .into());
            }
            let rows = (start..(start + 2).min(5))
                .map(|i| json!({"Guid": format!("00000000-0000-0000-0000-00000000000{i}")}))
                .collect();
            let next = (start + 2 < 5).then(|| NextLink::new((start + 2).to_string()));
            Ok(RawPage::from_values(inv.cmdlet(), rows).with_next_link(next))
        }
    }

    fn expiring() -> Expiring {
        Expiring {
            calls: AtomicUsize::new(0),
            expired: Default::default(),
        }
    }

    #[tokio::test]
    async fn an_expired_continuation_restarts_and_every_device_comes_once() {
        use crate::cmdlets::GetMobileDevice;
        let c = expiring();
        let all = c.call(GetMobileDevice::new()).await.unwrap();
        let mut guids: Vec<_> = all.items.iter().map(|d| d.guid.unwrap()).collect();
        assert_eq!(guids.len(), 5, "{guids:?}");
        guids.dedup();
        assert_eq!(guids.len(), 5);
        assert_eq!(all.restarts, 1);

        let c = expiring();
        let mut s = c.get_mobile_device_stream(GetMobileDevice::new());
        let mut streamed = Vec::new();
        while let Some(d) = s.next().await {
            streamed.push(d.unwrap().guid.unwrap());
        }
        let unique: std::collections::BTreeSet<_> = streamed.iter().collect();
        assert_eq!((streamed.len(), unique.len()), (5, 5));
        let report = s.report();
        assert_eq!(report.restarts, 1);
        assert!(report.complete);
    }

    #[tokio::test]
    async fn without_a_row_key_an_expired_continuation_fails() {
        let c = expiring();
        let r = paging::collect::<serde_json::Value, _>(
            &c,
            Invocation::new("Get-Thing", Parameters::new()),
        )
        .await;
        assert!(r.unwrap_err().is_pagination_expired());
    }

    #[test]
    fn every_typed_request_agrees_with_its_catalog_entry() {
        use crate::catalog::{CmdletInfo, ConnectorProfile, OutputShape};
        use crate::cmdlets::*;
        fn check<C: Cmdlet>(info: &CmdletInfo) -> &'static str {
            assert!(
                std::ptr::eq(C::INFO, info) || C::INFO == info,
                "{}",
                info.name
            );
            assert!(C::Shape::matches(C::INFO.shape), "{}", info.name);
            C::INFO.name
        }
        /// One `check` per typed row of the table.
        macro_rules! typed_rows {
            ($(
                $const:ident = $cmdlet:literal / $export:literal, $($field:expr),*
                $( => $req:ident $method:ident $( / $stream:ident )? )?;
            )*) => {
                [$($( check::<$req>(&crate::catalog::$const), )?)*]
            };
        }
        let typed = crate::catalog::cmdlet_table!(typed_rows);
        // every connector cmdlet of the catalog is typed, and so is every catalog entry
        // outside the permission check's own RBAC reads
        let mut typed: Vec<&str> = typed.to_vec();
        typed.sort();
        let mut expected: Vec<&str> = crate::catalog::all()
            .iter()
            .filter(|c| !c.profiles.is_empty() || !c.name.starts_with("Get-Management"))
            .map(|c| c.name)
            .collect();
        expected.sort();
        assert_eq!(typed, expected);
        assert!(
            ConnectorProfile::HostedExchange
                .cmdlets()
                .all(|c| typed.contains(&c.name))
        );
        assert!(matches!(
            GetMobileDevice::INFO.shape,
            OutputShape::Listing { key: Some(_) }
        ));
    }

    /// Builds every page's request twice (two attempts) the way the HTTP client does, then
    /// answers like [`Paged`].
    struct Attempts(Paged);

    #[async_trait]
    impl ExchangeClient for Attempts {
        async fn invoke_page(&self, inv: &Invocation, next: Option<&NextLink>) -> Result<RawPage> {
            let base = url::Url::parse("https://outlook.office365.com").unwrap();
            let tenant = crate::environment::TenantId::parse("contoso.onmicrosoft.com").unwrap();
            let ctx = crate::protocol::RequestContext {
                connection_id: uuid::Uuid::nil(),
                default_routing: None,
                user_agent: "test".into(),
            };
            for _ in 0..2 {
                inv.validate()?;
                crate::protocol::prepare_invoke(&base, &tenant, inv, &ctx, None)?;
            }
            self.0.invoke_page(inv, next).await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_call_validates_its_invocation_once() {
        use crate::protocol::request_tests::take_full_validations;
        let c = Attempts(Paged {
            pages: 3,
            calls: AtomicUsize::new(0),
        });
        take_full_validations();
        let listing = c
            .call(crate::cmdlets::GetMobileDevice::new())
            .await
            .unwrap();
        assert_eq!((listing.pages, listing.items.len()), (3, 6));
        // Before: once when prepared, once when the stream started, then on every page each
        // check of this client (2 + 3 × 4 = 14 here; the HTTP client: 1 + 1 per attempt).
        assert_eq!(take_full_validations(), 1);
        // A hand-built invocation is checked once too, where the stream starts.
        c.invoke_raw("Get-Thing", Parameters::new()).await.unwrap();
        assert_eq!(take_full_validations(), 1);
    }

    #[test]
    fn trait_is_object_safe_and_send_sync() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn ExchangeClient>();
        let _: Option<Arc<dyn ExchangeClient>> = None;
    }
}
