//! The pager: the rules every enumeration follows (see the module documentation of
//! [`crate::paging`]).

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use super::key_set::KeySet;
#[cfg(test)]
use super::row_keys::row_key128;
use super::row_keys::{decode_rows, hash128};
use super::{
    Checkpoint, DEFAULT_MAX_RESTARTS, MAX_PAGES_WITHOUT_PROGRESS, StreamReport, absorb_warnings,
};
use crate::catalog::{self, CmdletKind, RowKey};
use crate::error::{Error, Result};
use crate::protocol::{NextLink, RawPage, Warning};

/// The state of one enumeration: where the next page is, what was seen, what was said.
/// Fetching is the caller's business (so the inventory sync can put its limiter and retries
/// around it); [`Pager::accept`] and [`Pager::recover`] apply the rules of this module.
#[derive(Debug)]
pub(crate) struct Pager {
    cmdlet: String,
    follow: bool,
    key: Option<RowKey>,
    next: Option<NextLink>,
    done: bool,
    /// 128-bit hashes of the next links seen.
    seen_links: HashSet<u128>,
    /// 128-bit keys of the rows returned (the one part that grows with the tenant).
    seen_keys: KeySet,
    /// 128-bit hashes of the pages of a listing without a row key (a page repeated whole is
    /// no progress).
    seen_pages: HashSet<u128>,
    unkeyed: usize,
    duplicates: usize,
    /// Pages in a row that added no new row: (first page number, rows they repeated).
    stalled: Option<(usize, usize)>,
    stalled_pages: usize,
    /// Started at a bare continuation: rows before it are unknown, so no restart.
    resumed: bool,
    /// The continuation that fetched the page being yielded (`None`: the first page).
    current_link: Option<NextLink>,
    /// The keys of the rows of the page being yielded, in order.
    current_keys: Vec<Option<u128>>,
    max_restarts: u32,
    /// Rows of the largest page so far: at most how many a page's rows are allocated for.
    expected_rows: usize,
    /// The fewest bytes of text a row of a page has taken so far (on average over its page):
    /// a page of `n` bytes is expected to hold at most about `n` ÷ this many rows.
    row_bytes: Option<usize>,
    report: StreamReport,
}

impl Pager {
    /// A pager for `cmdlet`, following continuations only if its catalog shape is a listing
    /// (outside the catalog: only if it reads).
    pub fn new(cmdlet: &str) -> Self {
        let (follow, key) = match catalog::lookup(cmdlet) {
            Some(info) => (info.pages(), info.shape.row_key()),
            None => (
                CmdletKind::from_cmdlet_name(cmdlet) == CmdletKind::Read,
                None,
            ),
        };
        Pager {
            cmdlet: cmdlet.to_string(),
            follow,
            key,
            next: None,
            done: false,
            seen_links: HashSet::new(),
            seen_keys: KeySet::new(),
            seen_pages: HashSet::new(),
            unkeyed: 0,
            duplicates: 0,
            stalled: None,
            stalled_pages: 0,
            resumed: false,
            current_link: None,
            current_keys: Vec::new(),
            max_restarts: DEFAULT_MAX_RESTARTS,
            expected_rows: 0,
            row_bytes: None,
            report: StreamReport::default(),
        }
    }

    /// Start at `link` (a checkpoint) instead of the first page.
    pub fn start_at(mut self, link: Option<NextLink>) -> Self {
        if let Some(link) = &link {
            self.seen_links.insert(hash128(link.as_str().as_bytes()));
            self.resumed = true;
        }
        self.report.next_link = link.clone();
        self.next = link;
        self
    }

    /// Resume at `checkpoint`: its page again, without the rows it returned (a restart
    /// after an expired continuation skips them too).
    pub fn resume(mut self, checkpoint: Checkpoint) -> Self {
        self.seen_keys.extend(checkpoint.returned);
        self.report.next_link = checkpoint.next_link.clone();
        self.next = checkpoint.next_link;
        self
    }

    /// The checkpoint after `yielded` rows of the page being yielded, its keys unsorted (see
    /// `ObjectStream::checkpoint`).
    pub(super) fn checkpoint(&self, yielded: usize) -> Option<Checkpoint> {
        if self.resumed || (self.done && yielded >= self.current_keys.len()) {
            return None;
        }
        let pending: HashSet<u128> = self
            .current_keys
            .iter()
            .skip(yielded)
            .flatten()
            .copied()
            .collect();
        // In the set's order (none in particular): `ObjectStream::checkpoint` sorts them.
        let returned: Vec<u128> = self
            .seen_keys
            .iter()
            .filter(|k| !pending.contains(k))
            .collect();
        Some(Checkpoint {
            next_link: self.current_link.clone(),
            returned,
        })
    }

    /// At most `n` restarts after an expired continuation.
    pub fn max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = n;
        self
    }

    /// Whether the last page has been read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The continuation of the next page (`None`: the first page).
    pub fn next_link(&self) -> Option<&NextLink> {
        self.next.as_ref()
    }

    /// Whether the enumeration is past its first page (a restart would make sense).
    pub fn is_mid_enumeration(&self) -> bool {
        self.next.is_some()
    }

    /// What the enumeration has seen so far.
    pub fn report(&self) -> &StreamReport {
        &self.report
    }

    /// Rows skipped because they had been returned before (after a restart).
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Distinct rows returned so far.
    pub fn distinct(&self) -> usize {
        self.seen_keys.len() + self.unkeyed
    }

    /// How many rows to allocate for a page of `text_len` bytes: as many as the pages before
    /// suggest, never more than the largest page so far (none before the first page).
    fn expected(&self, text_len: usize) -> usize {
        self.row_bytes
            .map_or(0, |b| (text_len / b.max(1)).saturating_add(1))
            .min(self.expected_rows)
    }

    /// Take one fetched page: its new rows, decoded. Errors on a repeated next link and on
    /// too many empty pages in a row.
    pub fn accept<T: DeserializeOwned>(&mut self, mut raw: RawPage) -> Result<Vec<T>> {
        // The rows and their keys come from one decoding pass (keys only where they are
        // used: a listing that is followed and has a row key).
        let key = self.key.filter(|_| self.follow);
        let text_len = raw.value.as_ref().map_or(0, |v| v.get().len());
        let (mut rows, keys): (Vec<T>, _) = match key {
            Some(key) => {
                let decoded = decode_rows(&raw, key, self.expected(text_len))?;
                // The page's text is no longer needed: its buffer (the size of the page) is
                // freed before the key set grows, not after.
                raw.value = None;
                decoded
            }
            None => (raw.rows()?, Vec::new()),
        };
        let received = rows.len();
        self.expected_rows = self.expected_rows.max(received);
        if let Some(per_row) = text_len.checked_div(received) {
            self.row_bytes = Some(self.row_bytes.map_or(per_row, |b| b.min(per_row)));
        }
        let mut progress = received > 0;
        self.current_link = self.next.clone();
        self.current_keys.clear();
        if self.follow {
            match self.key {
                Some(_) => {
                    let mut keep = Vec::with_capacity(keys.len());
                    for k in keys {
                        keep.push(match k {
                            Some(k) => {
                                let new = self.seen_keys.insert(k);
                                if new {
                                    self.current_keys.push(Some(k));
                                }
                                new
                            }
                            None => {
                                self.unkeyed += 1;
                                self.current_keys.push(None);
                                true
                            }
                        });
                    }
                    let mut flags = keep.into_iter();
                    rows.retain(|_| flags.next().unwrap_or(true));
                    self.duplicates += received - rows.len();
                    progress = !rows.is_empty();
                }
                None if received > 0 => {
                    // No key to tell rows apart: a page repeated whole is no progress.
                    let text = raw.value.as_ref().map_or("", |v| v.get());
                    progress = self.seen_pages.insert(hash128(text.as_bytes()));
                    self.unkeyed += rows.len();
                }
                None => {}
            }
        }
        self.report.pages += 1;
        self.report.items += rows.len();
        if raw.confirmation_message.is_some() {
            self.report.confirmation_message = raw.confirmation_message;
        }
        let mut warnings = raw.warnings;
        let following = match raw.next_link {
            Some(link) if !self.follow => {
                warnings.push(Warning::new(
                    format!(
                        "the service offered a continuation (@odata.nextLink) for {}, which \
                         returns no listing; it was not followed",
                        self.cmdlet
                    ),
                    Some(self.cmdlet.clone()),
                ));
                drop(link);
                None
            }
            other => other,
        };
        absorb_warnings(&mut self.report, warnings, following.is_some());
        if let Some(link) = &following {
            let page = self.report.pages;
            if !self.seen_links.insert(hash128(link.as_str().as_bytes())) {
                self.done = true;
                return Err(Error::Paging {
                    cmdlet: self.cmdlet.clone(),
                    message: format!(
                        "page {page} returned an @odata.nextLink the service had already \
                         returned ({link:?}); paging would loop"
                    ),
                });
            }
            if progress {
                self.stalled = None;
                self.stalled_pages = 0;
            } else {
                let (first, repeated) = self.stalled.get_or_insert((page, 0));
                *repeated += received;
                self.stalled_pages += 1;
                if self.stalled_pages > MAX_PAGES_WITHOUT_PROGRESS {
                    let (first, repeated) = (*first, *repeated);
                    self.done = true;
                    return Err(Error::Paging {
                        cmdlet: self.cmdlet.clone(),
                        message: format!(
                            "pages {first} to {page} added no new row ({repeated} row(s), all \
                             returned before, under fresh next links); paging stopped after \
                             {} pages in a row without progress",
                            self.stalled_pages
                        ),
                    });
                }
            }
        }
        self.done = following.is_none();
        self.report.complete = self.done;
        self.report.next_link = following.clone();
        self.next = following;
        Ok(rows)
    }

    /// After a failed fetch: `Ok` if the enumeration restarted (an expired continuation of a
    /// keyed listing, restarts left), otherwise the error.
    #[cfg(test)]
    pub fn recover(&mut self, error: Error) -> Result<()> {
        if error.is_pagination_expired() && self.restart() {
            #[cfg(feature = "tracing")]
            tracing::warn!(cmdlet = %self.cmdlet, error = %error, "paging restarts from the first page");
            Ok(())
        } else {
            Err(error)
        }
    }

    /// Restart from the first page, if the enumeration is past its first page, its rows have
    /// a key and restarts are left. The caller should renew the request id.
    pub fn restart(&mut self) -> bool {
        if !self.is_mid_enumeration()
            || self.resumed
            || self.key.is_none()
            || !self.follow
            || self.report.restarts >= self.max_restarts
        {
            return false;
        }
        self.report.restarts += 1;
        self.next = None;
        self.done = false;
        self.seen_links.clear();
        self.seen_pages.clear();
        self.stalled = None;
        self.stalled_pages = 0;
        self.current_link = None;
        self.current_keys.clear();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::MAX_PAGES_WITHOUT_PROGRESS;
    use serde_json::json;

    fn page(cmdlet: &str, rows: Vec<serde_json::Value>, next: Option<&str>) -> RawPage {
        RawPage::from_values(cmdlet, rows).with_next_link(next.map(NextLink::new))
    }

    #[test]
    fn a_non_listing_next_link_is_a_warning_not_a_page() {
        let mut p = Pager::new("Clear-MobileDevice");
        let rows: Vec<serde_json::Value> = p
            .accept(page("Clear-MobileDevice", vec![], Some("more")))
            .unwrap();
        assert!(rows.is_empty());
        assert!(p.is_done());
        assert_eq!(p.report().warnings.len(), 1);
        assert!(p.report().warnings[0].message.contains("not followed"));
        // a write outside the catalog is not followed either; a read is
        let mut w = Pager::new("Set-Thing");
        let _: Vec<serde_json::Value> = w.accept(page("Set-Thing", vec![], Some("x"))).unwrap();
        assert!(w.is_done());
        let mut r = Pager::new("Get-Thing");
        let _: Vec<serde_json::Value> = r.accept(page("Get-Thing", vec![], Some("x"))).unwrap();
        assert!(!r.is_done());
    }

    #[test]
    fn a_pages_rows_are_allocated_for_what_its_text_can_hold() {
        let mut p = Pager::new("Get-MobileDevice");
        assert_eq!(
            p.expected(100_000),
            0,
            "nothing is known before the first page"
        );
        let rows: Vec<serde_json::Value> = (0..100u128)
            .map(|i| json!({"Guid": uuid::Uuid::from_u128(i).to_string(), "Pad": "x".repeat(50)}))
            .collect();
        let raw = page("Get-MobileDevice", rows, Some("n1"));
        let len = raw.value.as_ref().map_or(0, |v| v.get().len());
        let got: Vec<serde_json::Value> = p.accept(raw).unwrap();
        assert_eq!(got.len(), 100);
        assert!(
            (100..=101).contains(&p.expected(len)),
            "{}",
            p.expected(len)
        );
        // A short last page: room for about its own rows, not for the largest page's.
        assert!(p.expected(len / 10) <= 11, "{}", p.expected(len / 10));
        // Never more than the largest page so far.
        assert_eq!(p.expected(len * 10), 100);
    }

    #[test]
    fn empty_pages_with_a_next_link_are_bounded() {
        let mut p = Pager::new("Get-MobileDevice");
        for i in 0..MAX_PAGES_WITHOUT_PROGRESS {
            let next = format!("l{i}");
            let rows: Vec<serde_json::Value> = p
                .accept(page("Get-MobileDevice", vec![], Some(&next)))
                .unwrap();
            assert!(rows.is_empty());
        }
        let r: Result<Vec<serde_json::Value>> =
            p.accept(page("Get-MobileDevice", vec![], Some("last")));
        assert!(matches!(r, Err(Error::Paging { .. })), "{r:?}");
    }

    #[test]
    fn a_row_in_between_resets_the_empty_page_count() {
        let mut p = Pager::new("Get-MobileDevice");
        for i in 0..(3 * MAX_PAGES_WITHOUT_PROGRESS) {
            let rows = if i % MAX_PAGES_WITHOUT_PROGRESS == 0 {
                vec![json!({"Guid": format!("g{i}")})]
            } else {
                vec![]
            };
            let next = format!("l{i}");
            let _: Vec<serde_json::Value> = p
                .accept(page("Get-MobileDevice", rows, Some(&next)))
                .unwrap();
        }
    }

    #[test]
    fn restart_skips_rows_by_key_and_only_for_keyed_listings() {
        let mut p = Pager::new("Get-MobileDevice");
        let first: Vec<serde_json::Value> = p
            .accept(page(
                "Get-MobileDevice",
                vec![json!({"Guid": "A"}), json!({"Guid": "b"})],
                Some("n1"),
            ))
            .unwrap();
        assert_eq!(first.len(), 2);
        let expired = Error::from(crate::error::ApiError::new(
            400,
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
        ));
        assert!(expired.is_pagination_expired(), "{expired:?}");
        p.recover(expired).unwrap();
        assert_eq!(p.next_link(), None);
        let again: Vec<serde_json::Value> = p
            .accept(page(
                "Get-MobileDevice",
                vec![
                    json!({"Guid": "a"}),
                    json!({"Guid": "B"}),
                    json!({"Guid": "c"}),
                ],
                None,
            ))
            .unwrap();
        assert_eq!(again, vec![json!({"Guid": "c"})]);
        assert_eq!(
            (p.report().restarts, p.duplicates(), p.distinct()),
            (1, 2, 3)
        );
        // without a key (unknown cmdlet) an expired continuation fails
        let mut u = Pager::new("Get-Thing");
        let _: Vec<serde_json::Value> = u.accept(page("Get-Thing", vec![], Some("n"))).unwrap();
        assert!(!u.restart());
    }

    #[test]
    fn repeated_rows_under_fresh_links_stop_after_a_few_pages() {
        let mut p = Pager::new("Get-MobileDevice");
        let rows = || vec![json!({"Guid": "00000000-0000-0000-0000-000000000001"})];
        let first: Vec<serde_json::Value> = p
            .accept(page("Get-MobileDevice", rows(), Some("l0")))
            .unwrap();
        assert_eq!(first.len(), 1);
        let mut pages = 1;
        let err = loop {
            pages += 1;
            assert!(pages < 100, "paging never stopped");
            let next = format!("l{pages}");
            match p.accept::<serde_json::Value>(page("Get-MobileDevice", rows(), Some(&next))) {
                Ok(r) => assert!(r.is_empty(), "a repeated row was returned again"),
                Err(e) => break e,
            }
        };
        assert_eq!(pages, 2 + MAX_PAGES_WITHOUT_PROGRESS);
        let text = err.to_string();
        assert!(text.contains("pages 2 to"), "{text}");
        assert!(matches!(err, Error::Paging { .. }));
    }

    #[test]
    fn an_unkeyed_listing_that_repeats_a_page_stops_too() {
        let mut p = Pager::new("Get-Thing");
        let rows = || vec![json!({"Name": "a"}), json!({"Name": "a"})];
        let first: Vec<serde_json::Value> =
            p.accept(page("Get-Thing", rows(), Some("l0"))).unwrap();
        assert_eq!(first.len(), 2, "identical rows of one page are all kept");
        let mut stopped = false;
        for i in 1..50 {
            if p.accept::<serde_json::Value>(page("Get-Thing", rows(), Some(&format!("l{i}"))))
                .is_err()
            {
                stopped = true;
                break;
            }
        }
        assert!(stopped);
    }

    #[test]
    fn row_keys_are_128_bits() {
        let g = "7B2D3D1C-1111-2222-3333-444455556666";
        assert_eq!(row_key128(g), uuid::Uuid::parse_str(g).unwrap().as_u128());
        assert_eq!(row_key128("Alice\\X"), row_key128("alice\\x"));
        assert_ne!(row_key128("alice"), row_key128("bob"));
    }

    #[test]
    fn a_resumed_pager_does_not_restart_and_repeat_rows() {
        let mut p = Pager::new("Get-MobileDevice").start_at(Some(NextLink::new("checkpoint")));
        let expired = Error::from(crate::error::ApiError::new(
            400,
            "Expired or Invalid pagination request. Default Expiry time is 00:30:00",
        ));
        assert!(p.recover(expired).is_err());
    }
}
