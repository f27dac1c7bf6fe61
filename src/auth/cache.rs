//! [`CachingTokenProvider`]: a per-scope token cache with single-flight refresh.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex as StdMutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{Mutex, RwLock};

use super::clock::{Clock, SystemClock};
use super::{AccessToken, TokenProvider, TokenRequest};
use crate::error::AuthError;

/// How long before expiry a cached token is refreshed, unless configured otherwise (a
/// token that lives less than twice as long is refreshed at half its lifetime instead).
pub const DEFAULT_REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// Least time between two refreshes of one scope that are not forced: within it a token due
/// for refresh but not expired is returned as it is.
pub const MIN_REFRESH_INTERVAL: chrono::Duration = chrono::Duration::seconds(5);

/// Wraps a [`TokenProvider`] and caches its tokens, one per scope.
///
/// * A cached token is returned until it expires within the refresh margin (default
///   [`DEFAULT_REFRESH_MARGIN`], see [`CachingTokenProvider::with_refresh_margin`]) or within
///   half its lifetime (the time between its fetch and its expiry), whichever is shorter: a
///   token handed out with minutes left (managed identity, CLI caches) or one living less
///   than twice the margin is not refreshed on every call. Tokens without a known expiry are
///   cached until a forced refresh.
/// * At most one refresh per scope per [`MIN_REFRESH_INTERVAL`] unless forced: a token due
///   for refresh is returned as it is while the last request for one is that recent and it
///   has not expired (an expired token is never returned).
/// * Refresh is single-flight: concurrent callers wait for one request to the inner provider
///   (double-checked locking) instead of each asking for a token.
/// * [`TokenRequest::force_refresh`] and a [`TokenRequest::claims`] challenge bypass the cache;
///   the fresh token replaces the cached one. Callers that asked for a forced refresh while
///   another forced refresh of the same scope was under way share its result.
/// * If a refresh inside the margin fails while the cached token has not yet expired, the
///   cached token is returned (the next call tries again); forced refreshes always report the
///   error.
/// * Errors are never cached.
pub struct CachingTokenProvider<P> {
    inner: P,
    margin: chrono::Duration,
    clock: Arc<dyn Clock>,
    slots: StdMutex<HashMap<String, Arc<Slot>>>,
}

#[derive(Default)]
struct Slot {
    /// The cached token, its generation (bumped on every successful refresh) and when it
    /// was fetched.
    current: RwLock<Option<(AccessToken, u64, DateTime<Utc>)>>,
    /// Held while a refresh is under way; the time of the last request to the inner
    /// provider.
    refresh: Mutex<Option<DateTime<Utc>>>,
}

impl<P: TokenProvider> CachingTokenProvider<P> {
    /// Cache the tokens of `inner`, with the default margin and the system clock.
    pub fn new(inner: P) -> Self {
        CachingTokenProvider {
            inner,
            margin: DEFAULT_REFRESH_MARGIN,
            clock: Arc::new(SystemClock),
            slots: StdMutex::new(HashMap::new()),
        }
    }

    /// Refresh tokens that expire within `margin` (negative values count as zero).
    pub fn with_refresh_margin(mut self, margin: chrono::Duration) -> Self {
        self.margin = margin.max(chrono::Duration::zero());
        self
    }

    /// Read the time from `clock` instead of the system clock (for tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The refresh margin.
    pub fn refresh_margin(&self) -> chrono::Duration {
        self.margin
    }

    /// Drop every cached token.
    pub fn clear(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn slot(&self, scope: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(scope.to_string()).or_default().clone()
    }

    /// Not yet due for refresh: outside the margin and outside half its lifetime.
    fn is_fresh(&self, token: &AccessToken, fetched_at: DateTime<Utc>) -> bool {
        let margin = match token.expires_at() {
            Some(at) => self
                .margin
                .min((at - fetched_at) / 2)
                .max(chrono::Duration::zero()),
            None => self.margin,
        };
        !token.expires_within(self.clock.now(), margin)
    }

    fn still_valid(&self, token: &AccessToken) -> bool {
        token.expires_at().is_none_or(|at| self.clock.now() < at)
    }
}

impl<P> fmt::Debug for CachingTokenProvider<P>
where
    P: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scopes = self.slots.lock().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("CachingTokenProvider")
            .field("inner", &self.inner)
            .field("margin", &self.margin)
            .field("clock", &self.clock)
            .field("cached_scopes", &scopes)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<P: TokenProvider> TokenProvider for CachingTokenProvider<P> {
    async fn token(&self, request: &TokenRequest) -> Result<AccessToken, AuthError> {
        let slot = self.slot(&request.scope);
        let bypass = request.force_refresh || request.claims.is_some();

        // Fast path: a fresh cached token, under a shared lock.
        let seen_generation = {
            let current = slot.current.read().await;
            match current.as_ref() {
                Some((token, _, fetched)) if !bypass && self.is_fresh(token, *fetched) => {
                    return Ok(token.clone());
                }
                Some((_, generation, _)) => Some(*generation),
                None => None,
            }
        };

        // Slow path: one refresh at a time per scope.
        let mut last_request = slot.refresh.lock().await;
        let stale = {
            let current = slot.current.read().await;
            match current.as_ref() {
                // Someone else refreshed while we waited.
                Some((token, _, fetched)) if !bypass && self.is_fresh(token, *fetched) => {
                    return Ok(token.clone());
                }
                Some((token, generation, _))
                    if request.claims.is_none()
                        && request.force_refresh
                        && Some(*generation) != seen_generation =>
                {
                    return Ok(token.clone());
                }
                // Refreshed (or tried) moments ago: keep using the token while it is valid.
                Some((token, _, _))
                    if !bypass
                        && self.still_valid(token)
                        && last_request
                            .is_some_and(|t| self.clock.now() - t < MIN_REFRESH_INTERVAL) =>
                {
                    return Ok(token.clone());
                }
                Some((token, _, _)) => Some(token.clone()),
                None => None,
            }
        };

        let asked_at = self.clock.now();
        *last_request = Some(asked_at);
        match self.inner.token(request).await {
            Ok(token) => {
                let mut current = slot.current.write().await;
                let generation = current.as_ref().map_or(0, |(_, g, _)| g + 1);
                *current = Some((token.clone(), generation, asked_at));
                Ok(token)
            }
            Err(err) => match stale {
                Some(token) if !bypass && self.still_valid(&token) => {
                    #[cfg(feature = "tracing")]
                    tracing::warn!(error = %err, "token refresh failed; using the cached token until it expires");
                    let _ = err;
                    Ok(token)
                }
                _ => Err(err),
            },
        }
    }
}
