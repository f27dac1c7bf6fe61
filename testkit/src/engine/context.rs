//! The request side of the engine: one page request ([`Call`]), its result ([`Reply`]),
//! the per-call context the handlers read their parameters from, and paging.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::catalog::CmdletSpec;
use crate::continuation::Cursor;
use crate::failure::Failure;
use crate::policy;
use crate::tenant::Tenant;
use exchange_activesync::protocol::{MAX_PAGE_SIZE, TRUNCATION_WARNING};

/// One page request to the engine.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Call<'a> {
    /// Cmdlet name as sent (any casing).
    pub cmdlet: &'a str,
    /// The `Parameters` object.
    pub parameters: &'a Map<String, Value>,
    /// `$select` property names (empty = all).
    pub select: &'a [String],
    /// Page size (`Prefer: odata.maxpagesize`), 1..=1000.
    pub page_size: usize,
    /// Continuation of a previous page.
    pub cursor: Option<&'a Cursor>,
}

impl<'a> Call<'a> {
    /// A first-page call with the default page size and no projection.
    pub fn new(cmdlet: &'a str, parameters: &'a Map<String, Value>) -> Self {
        Call {
            cmdlet,
            parameters,
            select: &[],
            page_size: MAX_PAGE_SIZE as usize,
            cursor: None,
        }
    }

    /// Set the projection.
    pub fn select(mut self, select: &'a [String]) -> Self {
        self.select = select;
        self
    }

    /// Set the page size (clamped to 1..=1000).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE as usize);
        self
    }

    /// Continue after `cursor`.
    pub fn cursor(mut self, cursor: Option<&'a Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// The engine's reply to one page request (named apart from the library's `Outcome`, what a
/// Set-/Remove- call returns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reply {
    /// Canonical cmdlet name.
    pub cmdlet: String,
    /// The rows as a JSON array (UTF-8), serialized straight from the model.
    pub rows_json: Vec<u8>,
    /// Number of rows.
    pub row_count: usize,
    /// `@adminapi.warnings`.
    pub warnings: Vec<String>,
    /// `@adminapi.confirmationmessage` (the cmdlet was not executed).
    pub confirmation_message: Option<String>,
    /// Where the next page starts, when there is one.
    pub next: Option<Cursor>,
}

impl Reply {
    /// The rows as JSON values.
    pub fn rows(&self) -> Vec<Value> {
        serde_json::from_slice(&self.rows_json).unwrap_or_default()
    }

    pub(super) fn empty(cmdlet: &str) -> Self {
        Reply {
            cmdlet: cmdlet.to_string(),
            rows_json: b"[]".to_vec(),
            ..Reply::default()
        }
    }
}

/// Case-insensitive parameter lookup.
pub(super) fn param<'m>(params: &'m Map<String, Value>, name: &str) -> Option<&'m Value> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub(super) struct Ctx<'a> {
    pub(super) name: &'a str,
    pub(super) params: &'a Map<String, Value>,
    pub(super) select: Option<BTreeSet<String>>,
    pub(super) page_size: usize,
    pub(super) cursor: Cursor,
    pub(super) limit: Option<u64>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(spec: &'a CmdletSpec, call: &Call<'a>) -> Self {
        let select = (!call.select.is_empty()).then(|| {
            call.select
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        });
        Ctx {
            name: &spec.name,
            params: call.parameters,
            select,
            page_size: call.page_size.clamp(1, MAX_PAGE_SIZE as usize),
            cursor: call.cursor.cloned().unwrap_or_default(),
            limit: if spec.has_result_size() {
                Some(1000)
            } else {
                None
            },
        }
    }

    pub(super) fn get(&self, name: &str) -> Option<&'a Value> {
        param(self.params, name).filter(|v| !v.is_null())
    }

    pub(super) fn str(&self, name: &str) -> Result<Option<&'a str>, Failure> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(Failure::InvalidValue {
                message: format!(
                    "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{v}\" to type \"System.String\"."
                ),
            }),
        }
    }

    pub(super) fn switch(&self, name: &str) -> bool {
        self.get(name).and_then(policy::parse_bool) == Some(true)
    }

    pub(super) fn result_limit(&self) -> Result<Option<u64>, Failure> {
        match self.get("ResultSize") {
            None => Ok(self.limit),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("unlimited") => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad_result_size(s)),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad_result_size(&n.to_string())),
            Some(v) => Err(bad_result_size(&v.to_string())),
        }
    }

    pub(super) fn not_found(&self, t: &Tenant, identity: &str) -> Failure {
        Failure::NotFound {
            identity: identity.to_string(),
            scope: t.domain.clone(),
        }
    }
}

fn bad_result_size(v: &str) -> Failure {
    Failure::InvalidValue {
        message: format!(
            "Cannot process argument transformation on parameter 'ResultSize'. Cannot convert value \"{v}\" to type \"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]\"."
        ),
    }
}

pub(super) fn invalid_filter(message: String) -> Failure {
    Failure::InvalidOperation {
        exception: "Microsoft.Exchange.Management.Tasks.ThrowTerminatingErrorException".into(),
        message: format!(
            "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\": \"Invalid filter syntax: {message}\""
        ),
    }
}

/// Page through `items` (already positioned after the cursor) and serialize each row.
pub(super) fn paginate<'t, T: 't>(
    ctx: &Ctx<'_>,
    items: impl Iterator<Item = &'t T>,
    key: impl Fn(&T) -> Option<String>,
    mut write: impl FnMut(&mut Vec<u8>, &T, Option<&BTreeSet<String>>),
) -> Result<Reply, Failure> {
    let limit = ctx.result_limit()?;
    let emitted = ctx.cursor.emitted;
    let remaining = limit.map(|l| l.saturating_sub(emitted));
    let take = remaining.map_or(ctx.page_size, |r| (r as usize).min(ctx.page_size));
    let mut out = Reply::empty(ctx.name);
    out.rows_json.clear();
    out.rows_json.push(b'[');
    let mut n = 0usize;
    let mut more = false;
    let mut last_key = None;
    for item in items {
        if n == take {
            more = true;
            break;
        }
        if n > 0 {
            out.rows_json.push(b',');
        }
        write(&mut out.rows_json, item, ctx.select.as_ref());
        last_key = key(item);
        n += 1;
    }
    out.rows_json.push(b']');
    out.row_count = n;
    if more {
        let total = emitted + n as u64;
        if limit.is_some_and(|l| total >= l) {
            out.warnings.push(TRUNCATION_WARNING.to_string());
        } else {
            out.next = Some(Cursor {
                emitted: total,
                after: last_key,
                offset: ctx.cursor.offset + n as u64,
            });
        }
    }
    Ok(out)
}

pub(super) fn single<T>(
    ctx: &Ctx<'_>,
    item: &T,
    mut write: impl FnMut(&mut Vec<u8>, &T, Option<&BTreeSet<String>>),
) -> Reply {
    let mut out = Reply::empty(ctx.name);
    out.rows_json.clear();
    out.rows_json.push(b'[');
    write(&mut out.rows_json, item, ctx.select.as_ref());
    out.rows_json.push(b']');
    out.row_count = 1;
    out
}

pub(super) fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.split(',').map(|x| x.trim().to_string()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Apply a multi-valued parameter: a list replaces, `{Add:[…],Remove:[…]}` edits, `null` clears.
pub(super) fn apply_multi(current: &[String], v: &Value) -> Result<Vec<String>, Failure> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => Ok(a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()),
        Value::Object(m) => {
            let mut out = current.to_vec();
            for (k, v) in m {
                let items = str_list(Some(v));
                match k.to_ascii_lowercase().as_str() {
                    "add" => {
                        for i in items {
                            if !out.iter().any(|x| x.eq_ignore_ascii_case(&i)) {
                                out.push(i);
                            }
                        }
                    }
                    "remove" => out.retain(|x| !items.iter().any(|i| i.eq_ignore_ascii_case(x))),
                    _ => {}
                }
            }
            Ok(out)
        }
        _ => Err(Failure::InvalidValue {
            message: format!("Cannot convert value \"{v}\" to a multi-valued property."),
        }),
    }
}
