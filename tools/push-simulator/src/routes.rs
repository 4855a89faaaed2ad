//! Sends each request to the front it belongs to. Both listeners serve
//! every route.

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::conn::ConnInfo;
use crate::http_util::{self, Resp};
use crate::state::State;
use crate::{admin, apns, fcm, oauth, webpush, webpush_service};

pub(crate) async fn handle(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let path = req.uri().path();
    if path.starts_with(apns::PATH_PREFIX) || path.starts_with(apns::SANDBOX_PATH_PREFIX) {
        apns::handle(state, conn, req).await
    } else if path.starts_with("/3/") {
        http_util::json(StatusCode::NOT_FOUND, &json!({"reason": "BadPath"}))
    } else if path.starts_with(webpush_service::PATH_PREFIX)
        || path.starts_with(webpush_service::MOZILLA_PATH_PREFIX)
    {
        webpush::handle(state, conn, req).await
    } else if path.starts_with(fcm::PATH_PREFIX) {
        fcm::handle(state, conn, req).await
    } else if path == oauth::PATH {
        if req.method() == Method::POST {
            oauth::handle(state, conn, req).await
        } else {
            http_util::json(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "invalid_request", "error_description": "POST required"}),
            )
        }
    } else {
        admin::handle(state, conn, req).await
    }
}
