//! Reading API Gateway requests: bounded JSON bodies whose errors name the
//! offending field, path and query parameters, headers.
//!
//! A body that is not UTF-8 reaches a function base64-encoded
//! (`isBase64Encoded: true`, as API Gateway sends any body it cannot pass as
//! text), so `lambda_http` hands it over as bytes and [`parse_json`] answers
//! 400. (Locally, `cargo lambda watch` 1.9 answers such a body sent with a
//! text `Content-Type` with its own 500, "failed to deserialize the request
//! body", before any function runs; with `application/octet-stream` it
//! base64-encodes it as API Gateway does.)

use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// API Gateway accepts more; the contract caps bodies at 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Parses the body as JSON into `T`. Errors name the field that is wrong
/// (`alert.title`), never echo the body, and never panic.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T> {
    if req
        .headers()
        .contains_key(super::runtime::INVALID_BASE64_HEADER)
    {
        return Err(Error::invalid_request(
            "request body is marked base64-encoded (`isBase64Encoded`) but is not valid base64",
        ));
    }
    parse_json(req.body().as_ref())
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge(format!(
            "request body is {} bytes; the limit is {MAX_BODY_BYTES} bytes (1 MiB)",
            bytes.len()
        )));
    }
    // JSON is UTF-8 (RFC 8259); say so rather than report a stray byte.
    if std::str::from_utf8(bytes).is_err() {
        return Err(Error::invalid_request(
            "request body must be UTF-8 JSON: it contains bytes that are not UTF-8",
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid_request(
            "request body is required: send a JSON object",
        ));
    }
    // serde would also accept an array for a struct, field by position.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::invalid_request("request body must be a JSON object"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(describe)?;
    deserializer.end().map_err(|err| {
        Error::invalid_request(format!(
            "malformed JSON body: {}",
            without_position(&err.to_string())
        ))
    })?;
    Ok(value)
}

fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = err.path().to_string();
    let inner = err.inner();
    let message = without_position(&inner.to_string());
    if inner.is_syntax() || inner.is_eof() {
        return Error::invalid_request(format!("malformed JSON body: {message}"));
    }
    if path == "." {
        Error::invalid_request(format!("invalid request body: {message}"))
    } else {
        Error::invalid_request(format!("invalid field `{path}`: {message}"))
    }
}

/// serde_json appends "at line 1 column 17": noise for an API caller.
fn without_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// A path parameter the router must have filled; absent means the route does
/// not exist. Decoded exactly once, whoever did it: API Gateway's HTTP API
/// decodes the path before it routes, `cargo lambda watch` hands segments
/// over as the client sent them (`%3A` for `:`). No path parameter's
/// alphabet has a `%` (the route tests in `tests/tests/it/routes.rs` hold
/// the list), so a `%XX` left in a value is an escape the router kept, and
/// it is decoded here once: `%253A` becomes `%3A`, never `:`. A malformed
/// escape stays as it is and fails the parameter's own check.
pub fn path_param(req: &Request, name: &str) -> Result<String> {
    req.path_parameters()
        .first(name)
        .map(|value| percent_decode_once(value).unwrap_or_else(|| value.to_owned()))
        .ok_or_else(|| Error::NotFound(format!("path parameter `{name}` is missing")))
}

/// A path parameter of a route that also serves requests without it.
pub fn optional_path_param(req: &Request, name: &str) -> Option<String> {
    path_param(req, name).ok()
}

/// `%XX` decoding, one pass; `None` when `text` has no escape, a malformed
/// one, or decodes to bytes that are not UTF-8.
pub fn percent_decode_once(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                index += 3;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters().first(name).map(str::to_owned)
}

/// A header as text; a header that is not valid text counts as absent.
pub fn header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// A header that is sent once: its value as text (`None` when absent or not
/// text). API Gateway's payload 2.0 joins a repeated header's values with
/// commas into one ("Duplicate headers are combined with commas",
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html);
/// `cargo lambda watch` passes them as separate values. Either way it is
/// the error `refuse` makes of a message naming the header (`display`): the
/// credentials and keys read through this never contain a comma, so a
/// comma can only be a joined repeat.
pub fn single_header<'r>(
    req: &'r Request,
    name: &str,
    display: &str,
    refuse: fn(String) -> Error,
) -> Result<Option<&'r str>> {
    let mut values = req.headers().get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let repeated = || {
        refuse(format!(
            "the `{display}` header must be sent once (API Gateway joins repeated headers with commas)"
        ))
    };
    if values.next().is_some() {
        return Err(repeated());
    }
    match first.to_str().map(str::trim) {
        Ok(value) if value.contains(',') => Err(repeated()),
        Ok(value) => Ok(Some(value)),
        Err(_) => Ok(None),
    }
}

/// The Lambda request id, which 5xx bodies quote so operators can find the log.
pub fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|context| context.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn detail(bytes: &[u8]) -> String {
        match parse_json::<Sample>(bytes) {
            Ok(value) => panic!("expected an error, got {value:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let detail = detail(br#"{"name":"a","inner":{"count":"x"}}"#);
        assert!(detail.contains("`inner.count`"), "{detail}");
        assert!(!detail.contains("line"), "{detail}");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        assert!(detail(br#"{"inner":{"count":1}}"#).contains("missing field `name`"));
        assert!(detail(br#"{"name":"a","inner":{"count":1},"x":1}"#).contains("unknown field `x`"));
    }

    #[test]
    fn malformed_empty_and_trailing_bodies_are_rejected() {
        assert!(detail(b"{").starts_with("malformed JSON body"));
        assert!(detail(b"  ").contains("request body is required"));
        assert!(detail(br#"{"name":"a","inner":{"count":1}} []"#).starts_with("malformed JSON"));
        assert!(detail(br#"["a",{"count":1}]"#).contains("must be a JSON object"));
        assert!(detail(b"null").contains("must be a JSON object"));
    }

    #[test]
    fn a_body_that_is_not_utf8_is_400_naming_the_encoding() {
        for body in [
            &b"y\xff]"[..],
            b"{\"name\":\"\xff\",\"inner\":{\"count\":1}}",
            b"\xfe\xff{}",
        ] {
            match parse_json::<Sample>(body) {
                Err(err) => {
                    assert_eq!(err.code(), "invalid_request");
                    assert!(err.to_string().contains("UTF-8 JSON"), "{err}");
                }
                Ok(value) => panic!("accepted {value:?}"),
            }
        }
    }

    #[test]
    fn a_percent_escape_is_decoded_once_and_a_malformed_one_is_left_alone() {
        assert_eq!(percent_decode_once("abc%3Adef").as_deref(), Some("abc:def"));
        assert_eq!(percent_decode_once("abc%253A").as_deref(), Some("abc%3A"));
        assert_eq!(percent_decode_once("abc:def"), None);
        assert_eq!(percent_decode_once("abc%3"), None);
        assert_eq!(percent_decode_once("abc%zz"), None);
        assert_eq!(percent_decode_once("%ff"), None);
    }

    #[test]
    fn oversize_bodies_are_413() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        let err = parse_json::<Sample>(&big).err();
        assert!(matches!(err, Some(Error::PayloadTooLarge(_))));
    }
}
