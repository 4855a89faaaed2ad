//! Running an HTTP function: `lambda_http::run`, except that an event whose
//! body is marked base64 (`isBase64Encoded`) but does not decode reaches the
//! handler as a request [`json_body`](super::json_body) answers 400.
//!
//! `lambda_http` decodes such bodies with an `expect` (aws_lambda_events
//! `Body::from_maybe_encoded`): a panic, and with release builds'
//! `panic = "abort"` the end of the execution environment and of every
//! invocation in it. API Gateway always encodes correctly, but anyone
//! allowed to invoke the function directly can send such an event.

use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, IntoResponse, LambdaEvent, Request, Service};

/// Set on a request whose body was marked base64 but did not decode; its
/// body is then empty.
pub const INVALID_BASE64_HEADER: &str = "x-notify-invalid-base64-body";

/// Starts the Lambda runtime with `handler`, as `lambda_http::run` does,
/// with bodies that cannot be decoded answered 400 instead of a panic.
pub async fn run<'a, R, S, E>(handler: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request, Response = R, Error = E>,
    S::Future: Send + 'a,
    R: IntoResponse,
    E: std::fmt::Debug + Into<lambda_http::lambda_runtime::Diagnostic>,
{
    lambda_http::lambda_runtime::run(CheckedBase64(Adapter::from(handler))).await
}

/// Checks the body's base64 before `lambda_http` decodes it.
pub struct CheckedBase64<A>(pub A);

impl<A> Service<LambdaEvent<LambdaRequest>> for CheckedBase64<A>
where
    A: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = A::Response;
    type Error = A::Error;
    type Future = A::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        disarm_invalid_base64(&mut event.payload);
        self.0.call(event)
    }
}

/// A body marked base64 that does not decode becomes an empty body and
/// [`INVALID_BASE64_HEADER`].
fn disarm_invalid_base64(request: &mut LambdaRequest) {
    if let LambdaRequest::ApiGatewayV2(request) = request {
        let invalid = request.is_base64_encoded
            && request.body.as_deref().is_some_and(|body| {
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .is_err()
            });
        if invalid {
            request.is_base64_encoded = false;
            request.body = None;
            request.headers.insert(
                INVALID_BASE64_HEADER,
                http::HeaderValue::from_static("true"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{json_body, respond};
    use lambda_http::{service_fn, Context};

    async fn echo(
        req: Request,
    ) -> Result<lambda_http::Response<lambda_http::Body>, std::convert::Infallible> {
        Ok(respond(&req, json_body::<serde_json::Value>(&req)))
    }

    async fn answer(body: &str, base64: bool) -> serde_json::Value {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/device-register.json"))
                .unwrap_or_default();
        event["body"] = serde_json::json!(body);
        event["isBase64Encoded"] = serde_json::json!(base64);
        let request: LambdaRequest =
            serde_json::from_value(event).unwrap_or_else(|err| panic!("{err}"));
        let mut service = CheckedBase64(Adapter::from(service_fn(echo)));
        let response = service
            .call(LambdaEvent::new(request, Context::default()))
            .await
            .unwrap_or_else(|err| match err {});
        serde_json::to_value(response).unwrap_or_default()
    }

    #[tokio::test]
    async fn a_direct_invoke_with_invalid_base64_is_a_400_not_an_abort() {
        let response = answer("%%% not base64 %%%", true).await;
        assert_eq!(response["statusCode"], 400, "{response}");
        let body: serde_json::Value =
            serde_json::from_str(response["body"].as_str().unwrap_or_default()).unwrap_or_default();
        assert_eq!(body["code"], "invalid_request");
        assert!(
            body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("base64"),
            "{body}"
        );
        // Valid base64 and plain bodies are read as before.
        let encoded = base64::engine::general_purpose::STANDARD.encode(r#"{"a": 1}"#);
        assert_eq!(answer(&encoded, true).await["statusCode"], 200);
        assert_eq!(answer(r#"{"a": 1}"#, false).await["statusCode"], 200);
    }
}
