//! Reading response bodies with a size bound.

use super::transport_error;
use crate::error::{Error, Result};
use crate::protocol::MAX_BODY_BYTES;

/// Read at most `limit` bytes of a body (an error body: the rest is not read).
pub(super) async fn read_body_limited(
    cmdlet: &str,
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while body.len() < limit {
        let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(cmdlet, e))?
        else {
            break;
        };
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(body)
}

/// Read a body, refusing more than [`MAX_BODY_BYTES`].
pub(super) async fn read_body(cmdlet: &str, mut response: reqwest::Response) -> Result<Vec<u8>> {
    let too_large = || Error::Decode {
        cmdlet: cmdlet.to_string(),
        message: format!("response body larger than {MAX_BODY_BYTES} bytes"),
        body_snippet: String::new(),
    };
    let announced = response.content_length();
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    // One allocation of the announced size (at most MAX_BODY_BYTES): a page grown by
    // doubling leaves freed buffers of every size behind, and the process's memory with them.
    let mut body = Vec::with_capacity(announced.map_or(0, |n| n as usize));
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(cmdlet, e))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
