//! Remote wipe behind a typed confirmation, and its tracking through the device statistics.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::client::{ExchangeClient, ExchangeClientExt};
use crate::cmdlets::{ClearMobileDevice, GetMobileDeviceStatistics, Outcome, WipeIntent};
use crate::error::{Error, Result};
use crate::models::{ClientType, DeviceRemoteWipeStatus, MobileDeviceStatistics};
use crate::types::MobileDeviceIdentity;

/// Explicit consent to erase one device. It can only be built by naming the device in a
/// call whose name says what it does, and it is consumed by [`remote_wipe`], which refuses it
/// for any other device.
#[derive(Debug, PartialEq, Eq)]
pub struct WipeConfirmation {
    identity: MobileDeviceIdentity,
}

impl WipeConfirmation {
    /// "I understand that this erases `identity`" (the whole device, or its mailbox data for
    /// an account-only wipe).
    pub fn i_understand_this_erases(identity: &MobileDeviceIdentity) -> Self {
        WipeConfirmation {
            identity: identity.clone(),
        }
    }

    /// The device this confirmation is for.
    pub fn identity(&self) -> &MobileDeviceIdentity {
        &self.identity
    }
}

/// A remote wipe to send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WipeRequest {
    /// The device.
    pub identity: MobileDeviceIdentity,
    /// Wipe only the mailbox data (`-AccountOnly`).
    pub account_only: bool,
    /// Who gets the confirmation mail (`-NotificationEmailAddresses`).
    pub notify: Vec<String>,
}

impl WipeRequest {
    /// A full wipe of `identity`.
    pub fn full(identity: MobileDeviceIdentity) -> Self {
        WipeRequest {
            identity,
            account_only: false,
            notify: Vec::new(),
        }
    }

    /// An account-only wipe of `identity`.
    pub fn account_only(identity: MobileDeviceIdentity) -> Self {
        WipeRequest {
            account_only: true,
            ..Self::full(identity)
        }
    }

    /// Add notification addresses.
    pub fn notify<I, S>(mut self, addresses: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.notify.extend(addresses.into_iter().map(Into::into));
        self
    }

    /// The cmdlet request this sends.
    pub fn to_cmdlet(&self) -> ClearMobileDevice {
        let intent = if self.account_only {
            WipeIntent::AccountOnly
        } else {
            WipeIntent::FullWipe
        };
        ClearMobileDevice::new(self.identity.clone(), intent).notify(self.notify.iter().cloned())
    }
}

/// A wipe the service accepted.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WipeTicket {
    /// The device.
    pub identity: MobileDeviceIdentity,
    /// Account-only wipe.
    pub account_only: bool,
    /// When the request was sent (local clock).
    pub requested_at: DateTime<Utc>,
    /// The `*WipeRequestTime` the statistics showed before this wipe (read just before
    /// sending; `None` if there was none or it could not be read). Tracking ignores a wipe
    /// whose request time is not newer, so an older wipe is not mistaken for this one
    /// without comparing clocks.
    pub previous_request: Option<DateTime<Utc>>,
    /// Warnings and confirmation message of the service (e.g. an invalid notify address).
    pub outcome: Outcome,
    /// Whether the wipe is tracked on the account-only fields: an account-only wipe, or a
    /// full wipe of an Outlook / REST partnership, which the service turns into an
    /// account-only wipe (Outlook mobile supports no other).
    pub tracks_account_only: bool,
}

/// Why a wipe was not (known to be) sent.
///
/// Each message includes the text of the failure; [`source`](std::error::Error::source)
/// continues with the failure's own cause, so printing the chain repeats no line.
#[derive(Debug)]
#[non_exhaustive]
pub enum WipeError {
    /// The confirmation names another device.
    ConfirmationMismatch {
        /// Device in the confirmation.
        confirmed: String,
        /// Device in the request.
        requested: String,
    },
    /// The request may have been processed: a timeout or a connection lost after sending, a
    /// gateway error (502, 504), a 500 that is not a known transient exception, or a success
    /// status with a body that is not the expected answer ([`Error::may_have_acted`]). It
    /// was NOT retried: check `Get-MobileDeviceStatistics` (the `*WipeRequestTime` fields,
    /// see [`track_wipe`]) before sending it again.
    OutcomeUnknown {
        /// The device.
        identity: String,
        /// The failure.
        source: Error,
    },
    /// The service definitely did not act: it refused the wipe with a definite answer (a 4xx
    /// with its error, throttling), or the request was never sent.
    Failed {
        /// The device.
        identity: String,
        /// The failure.
        source: Error,
    },
}

impl std::fmt::Display for WipeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WipeError::ConfirmationMismatch {
                confirmed,
                requested,
            } => write!(
                f,
                "the wipe confirmation is for {confirmed}, not {requested}"
            ),
            WipeError::OutcomeUnknown { identity, source } => write!(
                f,
                "the wipe of {identity} may or may not have been queued ({source}); check the \
                 device statistics (DeviceWipeRequestTime / AccountOnlyDeviceWipeRequestTime) \
                 before retrying"
            ),
            WipeError::Failed { identity, source } => {
                write!(f, "the wipe of {identity} failed: {source}")
            }
        }
    }
}

impl std::error::Error for WipeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The failure's text is part of the message: continue below it.
            WipeError::OutcomeUnknown { source, .. } | WipeError::Failed { source, .. } => {
                source.source()
            }
            WipeError::ConfirmationMismatch { .. } => None,
        }
    }
}

/// `?` in a function returning [`crate::Result`]: a mismatched confirmation becomes
/// [`Error::InvalidInput`] (nothing was sent), the others [`Error::Wipe`], which keeps the
/// failure (its [`status`](Error::status), [`api`](Error::api), …) and, for
/// [`WipeError::OutcomeUnknown`], reads as unknown: [`Error::send_state`] is
/// [`SendState::Ambiguous`](crate::error::SendState::Ambiguous) and
/// [`Error::may_have_acted`] is `true`.
impl From<WipeError> for Error {
    fn from(e: WipeError) -> Self {
        match e {
            WipeError::ConfirmationMismatch { .. } => Error::invalid_parameter(
                Some("Clear-MobileDevice".to_string()),
                "Identity",
                e.to_string(),
            ),
            WipeError::OutcomeUnknown { identity, source } => Error::Wipe {
                identity,
                outcome_unknown: true,
                failure: Box::new(source),
            },
            WipeError::Failed { identity, source } => Error::Wipe {
                identity,
                outcome_unknown: false,
                failure: Box::new(source),
            },
        }
    }
}

/// Send a remote wipe (`Clear-MobileDevice`). The client sends it again only after an answer
/// that proves nothing ran (429, the per-tenant concurrency answer, a 401 before the token
/// refresh, a connection never established), never after one that leaves its outcome
/// unknown ([`crate::outcome`]). A failure after which the service may
/// have acted ([`Error::may_have_acted`]) gives [`WipeError::OutcomeUnknown`] and is never
/// retried here; only a definite refusal or a request never sent gives
/// [`WipeError::Failed`].
///
/// ```
/// use exchange_activesync::connector::{WipeConfirmation, WipeError, WipeRequest, remote_wipe};
/// use exchange_activesync_testkit::{Failure, FakeExchangeClient, TenantBuilder, Times};
/// use exchange_activesync::types::MobileDeviceIdentity;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> exchange_activesync::Result<()> {
/// let client = FakeExchangeClient::new(TenantBuilder::new().seed(1).devices(3).build());
/// let guid = client.tenant().devices().next().unwrap().guid;
/// let device = MobileDeviceIdentity::from_guid(guid);
///
/// // The confirmation must name the same device.
/// let ticket = remote_wipe(
///     &client,
///     &WipeRequest::full(device.clone()),
///     WipeConfirmation::i_understand_this_erases(&device),
/// )
/// .await?; // a `WipeError` converts into the crate's `Error`
/// assert_eq!(ticket.identity, device);
/// assert!(client.tenant().device(&guid).unwrap().wipe.is_pending());
///
/// // A gateway timeout: the service may have queued it, so it is not retried.
/// client.fail(Some("Clear-MobileDevice"), Failure::GatewayTimeout, Times::Once);
/// let err = remote_wipe(
///     &client,
///     &WipeRequest::full(device.clone()),
///     WipeConfirmation::i_understand_this_erases(&device),
/// )
/// .await
/// .unwrap_err();
/// assert!(matches!(err, WipeError::OutcomeUnknown { .. }));
/// let err = exchange_activesync::Error::from(err);
/// assert!(err.may_have_acted());
/// # Ok(()) }
/// ```
pub async fn remote_wipe(
    client: &dyn ExchangeClient,
    request: &WipeRequest,
    confirmation: WipeConfirmation,
) -> std::result::Result<WipeTicket, WipeError> {
    if confirmation.identity != request.identity {
        return Err(WipeError::ConfirmationMismatch {
            confirmed: confirmation.identity.to_string(),
            requested: request.identity.to_string(),
        });
    }
    let identity = request.identity.to_string();
    // The baseline tells this wipe from an older one while tracking, and the client type
    // which fields the wipe shows up in. Without it nothing is sent: tracking could take an
    // older wipe for this one.
    let baseline = match client
        .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(
            request.identity.clone(),
        ))
        .await
    {
        Ok(l) => l.items.into_iter().next(),
        // The service's own "not found": the wipe would be refused the same way.
        Err(e) if e.is_not_found() => {
            return Err(WipeError::Failed {
                identity,
                source: e,
            });
        }
        Err(e) => {
            return Err(WipeError::Failed {
                identity,
                source: Error::Config(format!(
                    "the device's statistics could not be read before the wipe, so it was not \
                     sent (they tell this wipe from an earlier one): {e}"
                )),
            });
        }
    };
    let tracks_account_only = request.account_only
        || baseline
            .as_ref()
            .and_then(|s| s.client_type.as_ref())
            .is_some_and(ClientType::is_rest_based);
    let previous_request = baseline.and_then(|s| {
        if tracks_account_only {
            s.account_only_device_wipe_request_time
        } else {
            s.device_wipe_request_time
        }
    });
    let requested_at = Utc::now();
    match client.clear_mobile_device(request.to_cmdlet()).await {
        Ok(outcome) => Ok(WipeTicket {
            identity: request.identity.clone(),
            account_only: request.account_only,
            requested_at,
            previous_request,
            outcome,
            tracks_account_only,
        }),
        Err(source) if source.may_have_acted() => {
            Err(WipeError::OutcomeUnknown { identity, source })
        }
        Err(source) => Err(WipeError::Failed { identity, source }),
    }
}

/// How far a wipe has progressed, from the device statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum WipeStage {
    /// No wipe of this kind is recorded.
    NotRequested,
    /// Queued (`*WipeRequestTime` set, or `Status` pending).
    Requested,
    /// Sent to the device (`*WipeSentTime` set).
    Sent,
    /// Acknowledged by the device (`*WipeAckTime` set, or `Status` succeeded).
    Acknowledged,
}

/// The wipe stage of `stats` for a full (`account_only == false`) or account-only wipe. With
/// `previous_request` (the request time seen before sending), a wipe whose request time is
/// not newer is an older one and counts as [`WipeStage::NotRequested`].
pub fn wipe_stage(
    stats: &MobileDeviceStatistics,
    account_only: bool,
    previous_request: Option<DateTime<Utc>>,
) -> WipeStage {
    let (req, sent, ack, pending, done) = if account_only {
        (
            stats.account_only_device_wipe_request_time,
            stats.account_only_device_wipe_sent_time,
            stats.account_only_device_wipe_ack_time,
            DeviceRemoteWipeStatus::AccountOnlyDeviceWipePending,
            DeviceRemoteWipeStatus::AccountOnlyDeviceWipeSucceeded,
        )
    } else {
        (
            stats.device_wipe_request_time,
            stats.device_wipe_sent_time,
            stats.device_wipe_ack_time,
            DeviceRemoteWipeStatus::DeviceWipePending,
            DeviceRemoteWipeStatus::DeviceWipeSucceeded,
        )
    };
    let status = stats.status.as_ref();
    let ours = req.is_some_and(|r| previous_request.is_none_or(|p| r > p));
    if let (true, Some(req)) = (ours, req) {
        // An acknowledgement (or a send) older than this request belongs to an earlier wipe.
        if ack.is_some_and(|a| a >= req) {
            WipeStage::Acknowledged
        } else if sent.is_some_and(|t| t >= req) {
            WipeStage::Sent
        } else {
            WipeStage::Requested
        }
    } else if req.is_none() && previous_request.is_none() && status == Some(&done) {
        // No timestamps at all, but the service says it is done.
        WipeStage::Acknowledged
    } else if req.is_none() && status == Some(&pending) {
        WipeStage::Requested
    } else {
        WipeStage::NotRequested
    }
}

/// Polling settings of [`track_wipe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollOptions {
    /// Time between two reads of the statistics.
    pub interval: Duration,
    /// Give up after this long.
    pub deadline: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_secs(30),
            deadline: Duration::from_secs(3600),
        }
    }
}

impl PollOptions {
    /// Poll every `interval` until `deadline`.
    pub fn new(interval: Duration, deadline: Duration) -> Self {
        PollOptions { interval, deadline }
    }
}

/// The last observation of a tracked wipe.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WipeTracking {
    /// Stage reached.
    pub stage: WipeStage,
    /// The statistics it was read from.
    pub statistics: Option<MobileDeviceStatistics>,
    /// Whether the deadline passed before acknowledgement.
    pub timed_out: bool,
    /// Reads made.
    pub polls: u32,
}

/// Follow a wipe through the device statistics (requested → sent → acknowledged), calling
/// `on_change` whenever the stage changes, until it is acknowledged or the deadline passes
/// (then `timed_out` is set; not an error). Read errors that may pass (throttling, 5xx) are
/// retried at the next interval; others end the tracking with the error.
pub async fn track_wipe(
    client: &dyn ExchangeClient,
    ticket: &WipeTicket,
    options: PollOptions,
    mut on_change: impl FnMut(WipeStage, &MobileDeviceStatistics) + Send,
) -> Result<WipeTracking> {
    // A deadline too far for the clock (`Duration::MAX`) is no deadline.
    let deadline = tokio::time::Instant::now().checked_add(options.deadline);
    let mut tracking = WipeTracking {
        stage: WipeStage::NotRequested,
        statistics: None,
        timed_out: false,
        polls: 0,
    };
    let mut first = true;
    loop {
        tracking.polls += 1;
        match client
            .get_mobile_device_statistics(GetMobileDeviceStatistics::for_device(
                ticket.identity.clone(),
            ))
            .await
        {
            Ok(l) => {
                if let Some(stats) = l.items.into_iter().next() {
                    let stage =
                        wipe_stage(&stats, ticket.tracks_account_only, ticket.previous_request);
                    if first || stage != tracking.stage {
                        on_change(stage, &stats);
                    }
                    first = false;
                    tracking.stage = stage;
                    tracking.statistics = Some(stats);
                }
            }
            Err(e) if e.is_retryable() => {
                #[cfg(feature = "tracing")]
                tracing::debug!(error = %e, "wipe tracking read failed; retrying");
            }
            Err(e) => return Err(e),
        }
        if tracking.stage == WipeStage::Acknowledged {
            return Ok(tracking);
        }
        let now = tokio::time::Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            tracking.timed_out = true;
            return Ok(tracking);
        }
        let next = now.checked_add(options.interval);
        match (next, deadline) {
            (Some(n), Some(d)) => tokio::time::sleep_until(n.min(d)).await,
            (Some(n), None) => tokio::time::sleep_until(n).await,
            (None, Some(d)) => tokio::time::sleep_until(d).await,
            // Neither an interval nor a deadline the clock can hold: poll once only.
            (None, None) => {
                tracking.timed_out = true;
                return Ok(tracking);
            }
        }
    }
}
