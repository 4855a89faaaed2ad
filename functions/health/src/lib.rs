//! `GET /health`: answers without a credential and without touching AWS.
#![forbid(unsafe_code)]

use lambda_http::{Body, Request, Response};
use notify_shared::http::respond;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub service: &'static str,
    pub version: &'static str,
}

pub async fn handle(req: Request) -> Response<Body> {
    respond(
        &req,
        Ok(Health {
            status: "ok",
            service: "notify",
            version: env!("CARGO_PKG_VERSION"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn health_reports_ok_with_the_crate_version() {
        let response = handle(Request::default()).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value =
            serde_json::from_slice(response.body().as_ref()).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({"status": "ok", "service": "notify", "version": env!("CARGO_PKG_VERSION")})
        );
    }
}
