//! [`Responder`]: a typed mock client. Register rows (or a closure) per cmdlet; it implements
//! [`ExchangeClient::invoke_page`] by cmdlet name (case-insensitive) and serializes the rows
//! to the service's JSON, optionally split into pages, so typed calls, streams, raw calls and
//! the permission probes all see the same answers.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use exchange_activesync::call::Cmdlet;
use exchange_activesync::client::{ExchangeClient, ModuleFile};
use exchange_activesync::error::{Error, Result};
use exchange_activesync::protocol::{Invocation, NextLink, RawPage};

type Handler = Arc<dyn Fn(&Invocation) -> Result<Vec<Value>> + Send + Sync>;

/// A mock [`ExchangeClient`] answering typed rows per cmdlet.
///
/// ```
/// # async fn demo() -> exchange_activesync::Result<()> {
/// use exchange_activesync::ExchangeClientExt;
/// use exchange_activesync::cmdlets::GetMobileDevice;
/// use exchange_activesync::models::MobileDevice;
/// use exchange_activesync_testkit::Responder;
/// let mut a = MobileDevice::default();
/// a.guid = Some(uuid::Uuid::from_u128(1));
/// let mut b = MobileDevice::default();
/// b.guid = Some(uuid::Uuid::from_u128(2));
/// let client = Responder::new().rows::<GetMobileDevice>(vec![a, b]).page_size(1);
/// let all = client.call(GetMobileDevice::new()).await?;
/// assert_eq!((all.items.len(), all.pages), (2, 2));
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Responder {
    handlers: Vec<(String, Handler)>,
    page_size: Option<usize>,
    calls: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field(
                "cmdlets",
                &self.handlers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl Responder {
    /// A responder that answers nothing (every cmdlet is [`Error::Unsupported`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Answer `C` with these rows (whatever its parameters).
    pub fn rows<C: Cmdlet>(self, rows: Vec<C::Output>) -> Self
    where
        C::Output: Serialize,
    {
        let json: Vec<Value> = rows.iter().map(to_json).collect();
        self.respond_raw(C::INFO.name, move |_| Ok(json.clone()))
    }

    /// Answer `C` with what `f` returns for each invocation (an error is returned as is).
    pub fn respond<C: Cmdlet>(
        self,
        f: impl Fn(&Invocation) -> Result<Vec<C::Output>> + Send + Sync + 'static,
    ) -> Self
    where
        C::Output: Serialize,
    {
        self.respond_raw(C::INFO.name, move |inv| {
            Ok(f(inv)?.iter().map(to_json).collect())
        })
    }

    /// Answer any cmdlet (by name, case-insensitive) with JSON rows.
    pub fn respond_raw(
        mut self,
        cmdlet: &str,
        f: impl Fn(&Invocation) -> Result<Vec<Value>> + Send + Sync + 'static,
    ) -> Self {
        self.handlers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(cmdlet));
        self.handlers.push((cmdlet.to_string(), Arc::new(f)));
        self
    }

    /// Split answers into pages of at most `rows` rows (at least 1), linked by next links.
    pub fn page_size(mut self, rows: usize) -> Self {
        self.page_size = Some(rows.max(1));
        self
    }

    /// The cmdlet of every `invoke_page` call so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn to_json<T: Serialize>(row: &T) -> Value {
    serde_json::to_value(row).unwrap_or(Value::Null)
}

#[async_trait]
impl ExchangeClient for Responder {
    async fn invoke_page(
        &self,
        invocation: &Invocation,
        continuation: Option<&NextLink>,
    ) -> Result<RawPage> {
        let cmdlet = invocation.cmdlet();
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cmdlet.to_string());
        let Some((_, handler)) = self
            .handlers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(cmdlet))
        else {
            return Err(Error::Unsupported(format!(
                "{cmdlet} (no answer configured in the responder)"
            )));
        };
        let rows = handler(invocation)?;
        let start = match continuation {
            None => 0,
            Some(link) => link
                .as_str()
                .strip_prefix("responder:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| Error::invalid_input(format!("unknown next link {link:?}")))?,
        };
        let size = self.page_size.unwrap_or(usize::MAX);
        let end = start.saturating_add(size).min(rows.len());
        let page: Vec<Value> = rows
            .get(start..end)
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        let next = (end < rows.len()).then(|| NextLink::new(format!("responder:{end}")));
        Ok(RawPage::from_values(cmdlet, page).with_next_link(next))
    }

    /// The configured cmdlets, with the export casing of the catalog where known.
    async fn module_file(&self) -> Result<ModuleFile> {
        Ok(ModuleFile::new(
            self.handlers
                .iter()
                .map(|(n, _)| {
                    exchange_activesync::catalog::lookup(n)
                        .map(|c| c.export_name.to_string())
                        .unwrap_or_else(|| n.clone())
                })
                .collect(),
            Vec::new(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exchange_activesync::client::ExchangeClientExt;
    use exchange_activesync::cmdlets::{GetActiveSyncOrganizationSettings, GetMobileDevice};
    use exchange_activesync::models::{
        ActiveSyncOrganizationSettings, DeviceAccessState, MobileDevice,
    };
    use exchange_activesync::protocol::Parameters;
    use futures::StreamExt;

    fn device(n: u128) -> MobileDevice {
        MobileDevice::builder()
            .guid(uuid::Uuid::from_u128(n))
            .device_access_state(DeviceAccessState::Blocked)
            .identity(format!("alice\\ExchangeActiveSyncDevices\\Phone{n}"))
            .build()
    }

    #[tokio::test]
    async fn typed_rows_round_trip_through_the_service_json() {
        let rows = vec![device(1), device(2), device(3)];
        let r = Responder::new()
            .rows::<GetMobileDevice>(rows.clone())
            .page_size(2);
        let all = r.call(GetMobileDevice::new()).await.unwrap();
        assert_eq!(all.items, rows);
        assert_eq!(all.pages, 2);
        let mut s = r.get_mobile_device_stream(GetMobileDevice::new());
        let mut n = 0;
        while let Some(d) = s.next().await {
            assert_eq!(d.unwrap(), rows[n]);
            n += 1;
        }
        assert_eq!(n, 3);
        // raw calls see the service's property names, by case-insensitive cmdlet name
        let raw = r
            .invoke_raw("get-mobiledevice", Parameters::new())
            .await
            .unwrap();
        assert_eq!(raw.items.len(), 3);
        assert!(raw.items[0].contains_key("Guid"), "{:?}", raw.items[0]);
        assert!(raw.items[0].contains_key("DeviceAccessState"));
        assert_eq!(r.calls().len(), 6);
        assert!(r.module_file().await.unwrap().exports("Get-MobileDevice"));
    }

    #[tokio::test]
    async fn closures_see_the_invocation_and_unknown_cmdlets_are_unsupported() {
        let r = Responder::new().respond::<GetActiveSyncOrganizationSettings>(|inv| {
            assert_eq!(inv.cmdlet(), "Get-ActiveSyncOrganizationSettings");
            Ok(vec![ActiveSyncOrganizationSettings::default()])
        });
        let s = r
            .get_active_sync_organization_settings(GetActiveSyncOrganizationSettings::new())
            .await
            .unwrap();
        assert_eq!(s.value, ActiveSyncOrganizationSettings::default());
        let e = r.call(GetMobileDevice::new()).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    }
}
