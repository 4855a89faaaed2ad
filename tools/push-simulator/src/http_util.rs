//! Small HTTP helpers: bodies with a size limit, JSON answers, form and query
//! decoding.

use bytes::Bytes;
use http::header::HOST;
use http::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde::Serialize;

use crate::conn::ConnInfo;

pub(crate) type Resp = Response<Full<Bytes>>;

pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
pub(crate) const JSON_UTF8: HeaderValue =
    HeaderValue::from_static("application/json; charset=UTF-8");

pub(crate) fn empty(status: StatusCode) -> Resp {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

pub(crate) fn raw_json(status: StatusCode, content_type: HeaderValue, body: Vec<u8>) -> Resp {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Resp {
    // Serializing our own types and `Value`s cannot fail; an empty body is
    // the harmless fallback.
    let body = serde_json::to_vec(value).unwrap_or_default();
    raw_json(status, APPLICATION_JSON, body)
}

/// `{"error": "..."}` for the simulator's own (admin) endpoints.
pub(crate) fn admin_error(status: StatusCode, message: impl Into<String>) -> Resp {
    json(status, &serde_json::json!({ "error": message.into() }))
}

/// `scheme://host[:port]` as the client addressed us (HTTP/2 `:authority` or
/// HTTP/1.1 `Host`), falling back to the listener's own address.
pub(crate) fn base_url(conn: ConnInfo, parts: &Parts) -> String {
    let authority = parts
        .uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            parts
                .headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '@']))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| conn.local_addr.to_string());
    format!("{}://{authority}", conn.listener.scheme())
}

#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge,
    Read,
}

/// Collects a request body, refusing more than `limit` bytes: an announced
/// `content-length` is checked before reading anything.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, BodyError> {
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Read),
    }
}

/// Decodes `application/x-www-form-urlencoded` (also used for query strings).
pub(crate) fn form_pairs(input: &str) -> impl Iterator<Item = (String, String)> + '_ {
    input.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key), percent_decode(value))
    })
}

pub(crate) fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex_digit(bytes.get(i + 1)), hex_digit(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => {
                    out.push((hi << 4) | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(byte: Option<&u8>) -> Option<u8> {
    match byte? {
        b @ b'0'..=b'9' => Some(b - b'0'),
        b @ b'a'..=b'f' => Some(b - b'a' + 10),
        b @ b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_percent_and_plus_decoded() {
        let pairs: Vec<_> =
            form_pairs("grant_type=urn%3Aietf%3Aparams&x=a+b&bad=%zz&tail=%4").collect();
        assert_eq!(
            pairs,
            vec![
                ("grant_type".into(), "urn:ietf:params".into()),
                ("x".into(), "a b".into()),
                ("bad".into(), "%zz".into()),
                ("tail".into(), "%4".into()),
            ]
        );
    }
}
