//! OPATH filters (`-Filter`), built so that a value can never change the filter's structure.

use std::fmt;

use chrono::{DateTime, Utc};

/// A value on the right-hand side of an OPATH comparison.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FilterValue {
    /// Text, written single-quoted with embedded quotes doubled.
    Text(String),
    /// An integer, written unquoted.
    Int(i64),
    /// `$true` / `$false`.
    Bool(bool),
    /// `$null`.
    Null,
}

impl FilterValue {
    /// Any displayable value as quoted text (enums, identities, sizes, …).
    pub fn text(v: impl fmt::Display) -> Self {
        FilterValue::Text(v.to_string())
    }
}

/// Write `s` as an OPATH single-quoted literal. Every quote character PowerShell treats as a
/// single quote (`'`, U+2018–U+201B) is doubled, so the literal cannot be closed from inside.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            write!(f, "{c}{c}")?;
        } else {
            write!(f, "{c}")?;
        }
    }
    f.write_str("'")
}

impl fmt::Display for FilterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterValue::Text(s) => write_quoted(f, s),
            FilterValue::Int(n) => write!(f, "{n}"),
            FilterValue::Bool(true) => f.write_str("$true"),
            FilterValue::Bool(false) => f.write_str("$false"),
            FilterValue::Null => f.write_str("$null"),
        }
    }
}

impl From<&str> for FilterValue {
    fn from(s: &str) -> Self {
        FilterValue::Text(s.to_string())
    }
}
impl From<String> for FilterValue {
    fn from(s: String) -> Self {
        FilterValue::Text(s)
    }
}
impl From<&String> for FilterValue {
    fn from(s: &String) -> Self {
        FilterValue::Text(s.clone())
    }
}
impl From<bool> for FilterValue {
    fn from(b: bool) -> Self {
        FilterValue::Bool(b)
    }
}
impl From<i64> for FilterValue {
    fn from(n: i64) -> Self {
        FilterValue::Int(n)
    }
}
impl From<i32> for FilterValue {
    fn from(n: i32) -> Self {
        FilterValue::Int(n.into())
    }
}
impl From<u32> for FilterValue {
    fn from(n: u32) -> Self {
        FilterValue::Int(n.into())
    }
}
impl<T: Into<FilterValue>> From<Option<T>> for FilterValue {
    /// `None` is `$null`.
    fn from(v: Option<T>) -> Self {
        v.map_or(FilterValue::Null, Into::into)
    }
}
impl From<DateTime<Utc>> for FilterValue {
    /// Dates are compared as quoted text in the module's input form (`yyyy-MM-ddTHH:mm:ss`, UTC).
    fn from(d: DateTime<Utc>) -> Self {
        FilterValue::Text(crate::protocol::encode_datetime(d))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Cmp {
        property: &'static str,
        op: &'static str,
        value: FilterValue,
    },
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Raw(String),
}

/// An OPATH filter for `-Filter`.
///
/// Values are always rendered as literals (text single-quoted with `'` doubled; numbers,
/// `$true`, `$false`, `$null` unquoted), so user input cannot add operators. Property names
/// are `&'static str`: they come from code, not from users. Combinators add parentheses.
///
/// ```
/// use exchange_activesync::types::Filter;
/// let f = Filter::eq("DeviceType", "iPhone").and(Filter::like("DeviceOS", "iOS 17*"));
/// assert_eq!(f.to_string(), "(DeviceType -eq 'iPhone') -and (DeviceOS -like 'iOS 17*')");
/// assert_eq!(Filter::eq("LastName", "O'Brien").to_string(), "LastName -eq 'O''Brien'");
/// ```
///
/// The service itself (through the protocol layer, as the module does) replaces `$true` and
/// `$false` with `'True'`/`'False'` before sending.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter(Node);

impl Filter {
    fn cmp(property: &'static str, op: &'static str, value: impl Into<FilterValue>) -> Self {
        Filter(Node::Cmp {
            property,
            op,
            value: value.into(),
        })
    }

    /// `Property -eq value`.
    pub fn eq(property: &'static str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(property, "-eq", value)
    }
    /// `Property -ne value`.
    pub fn ne(property: &'static str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(property, "-ne", value)
    }
    /// `Property -like 'pattern'` (`*` is a wildcard).
    pub fn like(property: &'static str, pattern: impl Into<String>) -> Self {
        Self::cmp(property, "-like", FilterValue::Text(pattern.into()))
    }
    /// `Property -notlike 'pattern'`.
    pub fn not_like(property: &'static str, pattern: impl Into<String>) -> Self {
        Self::cmp(property, "-notlike", FilterValue::Text(pattern.into()))
    }
    /// `Property -lt value`.
    pub fn lt(property: &'static str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(property, "-lt", value)
    }
    /// `Property -gt value`.
    pub fn gt(property: &'static str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(property, "-gt", value)
    }
    /// `Property -le value`.
    pub fn le(property: &'static str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(property, "-le", value)
    }
    /// `Property -ge value`.
    pub fn ge(property: &'static str, value: impl Into<FilterValue>) -> Self {
        Self::cmp(property, "-ge", value)
    }
    /// `(self) -and (other)`.
    pub fn and(self, other: Filter) -> Self {
        Filter(Node::And(Box::new(self.0), Box::new(other.0)))
    }
    /// `(self) -or (other)`.
    pub fn or(self, other: Filter) -> Self {
        Filter(Node::Or(Box::new(self.0), Box::new(other.0)))
    }
    /// `-not (filter)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(filter: Filter) -> Self {
        Filter(Node::Not(Box::new(filter.0)))
    }
    /// A filter text used as is (escape hatch: no escaping is applied; never put user input
    /// here).
    pub fn raw(text: impl Into<String>) -> Self {
        Filter(Node::Raw(text.into()))
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Cmp {
                property,
                op,
                value,
            } => write!(f, "{property} {op} {value}"),
            Node::And(a, b) => write!(f, "({a}) -and ({b})"),
            Node::Or(a, b) => write!(f, "({a}) -or ({b})"),
            Node::Not(a) => write!(f, "-not ({a})"),
            Node::Raw(s) => f.write_str(s),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Filter> for String {
    fn from(f: Filter) -> String {
        f.to_string()
    }
}
