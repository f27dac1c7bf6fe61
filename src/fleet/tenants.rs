//! [`TenantList`]: the tenants of a fleet, parsed from a tenants file.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::environment::{TenantId, TenantIdError};

/// One tenant of a fleet: its validated id, where it came from and its position.
///
/// Cheap to clone (an `Arc` inside); every record and result of the tenant carries one.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FleetTenant(Arc<TenantInner>);

#[derive(PartialEq, Eq, Hash)]
struct TenantInner {
    id: TenantId,
    line: usize,
    index: usize,
}

impl FleetTenant {
    /// The validated tenant (GUID or domain), exactly as written in the list.
    pub fn id(&self) -> &TenantId {
        &self.0.id
    }

    /// The tenant as written (after trimming), for reports.
    pub fn as_str(&self) -> &str {
        self.0.id.as_str()
    }

    /// The 1-based line of the tenants file it was read from (its 1-based position for a
    /// list built with [`TenantList::from_ids`]).
    pub fn line(&self) -> usize {
        self.0.line
    }

    /// Its 0-based position in the list.
    pub fn index(&self) -> usize {
        self.0.index
    }
}

impl fmt::Debug for FleetTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetTenant")
            .field("id", &self.as_str())
            .field("line", &self.line())
            .finish()
    }
}

impl fmt::Display for FleetTenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for FleetTenant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a tenants file was refused. `Display` names the line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TenantListError {
    /// A line is neither a tenant GUID nor a domain.
    #[error("tenants file line {line}: {source}")]
    Invalid {
        /// The 1-based line.
        line: usize,
        /// Why the tenant was refused.
        #[source]
        source: TenantIdError,
    },
    /// A tenant is listed twice (compared case-insensitively).
    #[error("tenants file line {line}: tenant \"{tenant}\" is already listed on line {first_line}")]
    Duplicate {
        /// The 1-based line of the repetition.
        line: usize,
        /// The line where the tenant is first listed.
        first_line: usize,
        /// The tenant as written on `line`.
        tenant: String,
    },
    /// The file could not be read.
    #[error("could not read the tenants file: {0}")]
    Io(#[from] std::io::Error),
}

/// The tenants of a fleet, in the order given, without duplicates.
///
/// A tenants file has one tenant GUID or domain per line; surrounding whitespace is trimmed,
/// blank lines are skipped, and `#` starts a comment (a whole line or the end of one).
///
/// ```
/// use exchange_activesync::fleet::TenantList;
/// let list = TenantList::parse(
///     "# customers\ncontoso.onmicrosoft.com\n\n2f6c0000-0000-0000-0000-000000000001  # fabrikam\n",
/// )?;
/// assert_eq!(list.len(), 2);
/// assert_eq!(list.iter().nth(1).unwrap().line(), 4);
/// # Ok::<(), exchange_activesync::fleet::TenantListError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantList {
    tenants: Vec<FleetTenant>,
    rejected: Vec<RejectedLine>,
}

/// A line of a tenants file that names no tenant to work ([`TenantList::parse_lenient`]):
/// its number, its text and why, to be reported as that line's own result (error kind
/// [`invalid_tenant`](super::TenantErrorKind::InvalidTenant)).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RejectedLine {
    /// The 1-based line.
    pub line: usize,
    /// The line's text (without its comment), escaped and cut to 100 characters.
    pub text: String,
    /// Why it was refused (it names the line).
    pub reason: String,
}

impl RejectedLine {
    /// This line as a tenant's error (kind `invalid_tenant`).
    pub fn to_error(&self) -> super::TenantError {
        super::TenantError::new(super::TenantErrorKind::InvalidTenant, self.reason.clone())
    }
}

impl TenantList {
    /// Parse the text of a tenants file, keeping every valid tenant: a line that names no
    /// valid tenant, or a tenant listed before, is kept in [`rejected`](Self::rejected)
    /// (with its line, text and reason) and the other lines still count. For unattended
    /// runs, where one bad line must not stop every customer; [`parse`](Self::parse)
    /// refuses the whole file instead.
    pub fn parse_lenient(text: &str) -> Self {
        let mut rejected = Vec::new();
        let mut list = Self::walk(text, |line, content, e| {
            rejected.push(RejectedLine {
                line,
                text: content
                    .chars()
                    .take(100)
                    .flat_map(char::escape_default)
                    .collect(),
                reason: e.to_string(),
            });
            Ok(())
        })
        .unwrap_or_default();
        list.rejected = rejected;
        list
    }

    /// The tenants of a file's text, line by line (comments after `#` and blank lines
    /// skipped); a bad or repeated line goes to `refused` (its number, its text without the
    /// comment, the error), which keeps going or stops the walk with its error.
    fn walk(
        text: &str,
        mut refused: impl FnMut(usize, &str, TenantListError) -> Result<(), TenantListError>,
    ) -> Result<Self, TenantListError> {
        let mut list = TenantList::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let lower = content.to_ascii_lowercase();
            match TenantId::parse(content) {
                Err(source) => refused(line, content, TenantListError::Invalid { line, source })?,
                Ok(_) if seen.contains_key(&lower) => refused(
                    line,
                    content,
                    TenantListError::Duplicate {
                        line,
                        first_line: seen[&lower],
                        tenant: content.to_string(),
                    },
                )?,
                Ok(id) => {
                    seen.insert(lower, line);
                    list.push(id, line);
                }
            }
        }
        Ok(list)
    }

    /// [`parse_lenient`](Self::parse_lenient) of a file.
    pub fn from_file_lenient(path: impl AsRef<Path>) -> Result<Self, TenantListError> {
        Ok(Self::parse_lenient(&std::fs::read_to_string(path)?))
    }

    /// The lines [`parse_lenient`](Self::parse_lenient) refused (empty after
    /// [`parse`](Self::parse), which refuses the whole file instead).
    pub fn rejected(&self) -> &[RejectedLine] {
        &self.rejected
    }

    /// Parse the text of a tenants file; the first bad or repeated line refuses the whole
    /// file (see [`parse_lenient`](Self::parse_lenient) to keep the others).
    pub fn parse(text: &str) -> Result<Self, TenantListError> {
        Self::walk(text, |_, _, e| Err(e))
    }

    /// Read and parse a tenants file (strict: see [`from_file_lenient`](Self::from_file_lenient)).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, TenantListError> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    /// A list of tenant ids given one by one (the n-th counts as line n in errors).
    pub fn from_ids<I, S>(ids: I) -> Result<Self, TenantListError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut text = String::new();
        for id in ids {
            let id = id.as_ref();
            if id.contains(['\n', '\r', '#']) || id.trim() != id || id.is_empty() {
                // Validate as is, so the error shows what was given.
                let line = text.lines().count() + 1;
                return Err(TenantListError::Invalid {
                    line,
                    source: TenantId::parse(id)
                        .err()
                        .unwrap_or_else(|| TenantIdError::new(id, "not a single tenant")),
                });
            }
            text.push_str(id);
            text.push('\n');
        }
        Self::parse(&text)
    }

    fn push(&mut self, id: TenantId, line: usize) {
        let index = self.tenants.len();
        self.tenants
            .push(FleetTenant(Arc::new(TenantInner { id, line, index })));
    }

    /// How many tenants.
    pub fn len(&self) -> usize {
        self.tenants.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }

    /// The tenants in order.
    pub fn iter(&self) -> impl Iterator<Item = &FleetTenant> {
        self.tenants.iter()
    }
}

impl std::str::FromStr for TenantList {
    type Err = TenantListError;
    fn from_str(s: &str) -> Result<Self, TenantListError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lenient_parse_keeps_the_good_lines_and_names_the_bad_ones() {
        let list = TenantList::parse_lenient(
            "contoso.onmicrosoft.com\nnot a tenant!\n# comment\nCONTOSO.onmicrosoft.com\nfabrikam.com\n",
        );
        let ids: Vec<&str> = list.iter().map(FleetTenant::as_str).collect();
        assert_eq!(ids, ["contoso.onmicrosoft.com", "fabrikam.com"]);
        let lines: Vec<usize> = list.rejected().iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(list.rejected()[0].text, "not a tenant!");
        assert!(
            list.rejected()[1]
                .reason
                .contains("already listed on line 1")
        );
        assert_eq!(
            list.rejected()[0].to_error().kind,
            super::super::TenantErrorKind::InvalidTenant
        );
        assert!(TenantList::parse("contoso.onmicrosoft.com\nnot a tenant!\n").is_err());
    }
}
