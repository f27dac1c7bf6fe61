//! The wire protocol of the Exchange Online admin API, without I/O.
//!
//! Pure functions build `InvokeCommand` requests ([`prepare_invoke`]), encode parameters
//! ([`Parameters`]) and decode answers ([`decode_page`], [`decode_error`]). The HTTP client,
//! the simulator and the tests all share them.

mod error_body;
mod params;
mod request;
#[cfg(test)]
pub(crate) use request::tests as request_tests;
mod response;
mod text;

pub use crate::catalog::{CmdletKind, is_cmdlet_name, is_enumeration};
pub use error_body::{
    DetailMessage, MAX_ERROR_BODY_BYTES, ResponseMeta, body_kind, decode_error,
    parse_detail_message, parse_retry_after,
};
pub use params::{
    BYTE_ARRAY_COLLECTION_TYPE, BYTE_ARRAY_TYPE, GENERIC_HASHTABLE_COLLECTION_TYPE,
    GENERIC_HASHTABLE_TYPE, ParamValue, Parameters, encode_datetime, encode_filter_literals,
};
pub use request::{
    ANCHOR_HEADER, APP_ONLY_SYSTEM_MAILBOX, CLIENT_APPLICATION, Invocation, MAX_PAGE_SIZE,
    NextLink, PreparedRequest, RequestContext, RoutingHint, check_destructive_identity, invoke_url,
    is_routable_mailbox, module_file_url, prepare_invoke,
};
pub(crate) use response::decode_page_owned;
pub use response::{
    MAX_BODY_BYTES, RawPage, TRUNCATION_WARNING, Warning, decode_body, decode_body_prefix,
    decode_page, is_gzip, strip_annotations,
};
