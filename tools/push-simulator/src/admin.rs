//! The simulator's own JSON endpoints: credentials, recordings, counters,
//! faults, reset and health.

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::conn::ConnInfo;
use crate::credentials::{self, ApnsKey, Environment, FcmAccount};
use crate::faults::FaultSpec;
use crate::http_util::{self, admin_error, Resp};
use crate::oauth;
use crate::recorder::Filter;
use crate::state::State;

const MAX_BODY: usize = 1024 * 1024;

pub(crate) async fn handle(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let body = match http_util::read_body(&parts.headers, body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => return admin_error(StatusCode::PAYLOAD_TOO_LARGE, "body over 1 MiB"),
    };
    let result = match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/health") => Ok(ok(json!({"status": "ok"}))),
        (&Method::POST, "/admin/credentials") => {
            create_credentials(state, conn, &parts, &body).await
        }
        (&Method::GET, "/admin/credentials") => Ok(ok(state.registry.summary())),
        (&Method::POST, "/admin/apns-keys") => register_apns_key(state, &body),
        (&Method::POST, "/admin/fcm-accounts") => register_fcm_account(state, conn, &parts, &body),
        (&Method::POST, "/admin/web-push-subscriptions") => Ok(
            crate::webpush::create_subscription(state, conn, &parts, &body),
        ),
        (&Method::GET, "/deliveries") => list_deliveries(state, &parts),
        (&Method::DELETE, "/deliveries") => Ok(ok(
            json!({"cleared": state.recorder.clear() + state.web_push.clear()}),
        )),
        (&Method::GET, "/stats") => Ok(stats(state)),
        (&Method::GET, "/admin/faults") => Ok(ok(json!({"faults": state.faults.snapshot()}))),
        (&Method::POST, "/admin/faults") => add_fault(state, &body),
        (&Method::DELETE, "/admin/faults") => {
            state.faults.clear();
            Ok(ok(json!({"faults": state.faults.snapshot()})))
        }
        (&Method::POST, "/admin/reset") => {
            state.recorder.clear();
            state.web_push.clear();
            state.faults.clear();
            state.stats.reset();
            tracing::info!("simulator reset");
            Ok(ok(json!({"reset": true})))
        }
        _ => Err(Failure::new(StatusCode::NOT_FOUND, "no such route")),
    };
    result.unwrap_or_else(|failure| admin_error(failure.status, failure.message))
}

/// An admin request that cannot be served: `{"error": message}`.
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

fn ok(value: Value) -> Resp {
    http_util::json(StatusCode::OK, &value)
}

/// Parses a JSON body; an empty body reads as `{}`.
fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Failure> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsRequest {
    bundle_id: Option<String>,
    project_id: Option<String>,
    /// The APNs key's team (another key of an existing team); random if absent.
    team_id: Option<String>,
    /// Restricts the APNs key to one environment.
    environment: Option<Environment>,
    /// The key id of the one key this key may share a connection with.
    related_key_id: Option<String>,
}

/// Fresh APNs key and service account, registered, in the shape Notify's
/// `POST /tenants` takes.
async fn create_credentials(
    state: &State,
    conn: ConnInfo,
    parts: &Parts,
    body: &Bytes,
) -> Result<Resp, Failure> {
    let request: CredentialsRequest = parse(body)?;
    let bundle_id = request
        .bundle_id
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "com.example.app".to_owned());
    let project_id = request
        .project_id
        .filter(|p| !p.is_empty())
        .unwrap_or_else(credentials::random_project_id);
    let token_uri = format!("{}{}", http_util::base_url(conn, parts), oauth::PATH);
    let bundle_ids = vec![bundle_id.clone()];
    let team_id = request.team_id.filter(|t| !t.is_empty());
    // RSA key generation takes a while; keep it off the async workers.
    let generated = tokio::task::spawn_blocking(move || {
        let apns = credentials::generate_apns_key(team_id, bundle_ids)?;
        let fcm = credentials::generate_service_account(&project_id, &token_uri)?;
        anyhow::Ok((apns, fcm))
    })
    .await;
    let ((mut apns_key, p8), (account, service_account)) = match generated {
        Ok(Ok(generated)) => generated,
        Ok(Err(e)) => {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
            ))
        }
        Err(_) => {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "key generation failed",
            ))
        }
    };
    let answer = json!({
        "bundle_id": bundle_id,
        "team_id": apns_key.team_id,
        "key_id": apns_key.key_id,
        "private_key": p8,
        "fcm_service_account": service_account,
    });
    apns_key.environment = request.environment;
    apns_key.related_key_id = request.related_key_id;
    tracing::info!(key_id = %apns_key.key_id, team_id = %apns_key.team_id,
        project_id = %account.project_id, client_email = %account.client_email,
        "credentials created");
    state.registry.add_apns_key(apns_key);
    state.registry.add_fcm_account(account);
    Ok(ok(answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApnsKeyRequest {
    team_id: String,
    key_id: String,
    private_key: String,
    #[serde(default)]
    bundle_ids: Vec<String>,
    environment: Option<Environment>,
    related_key_id: Option<String>,
}

fn register_apns_key(state: &State, body: &Bytes) -> Result<Resp, Failure> {
    let request: ApnsKeyRequest = parse(body)?;
    if request.team_id.is_empty() || request.key_id.is_empty() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "team_id and key_id are required",
        ));
    }
    let public_key = credentials::apns_public_key(&request.private_key)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e))?;
    let answer = json!({
        "key_id": request.key_id,
        "team_id": request.team_id,
        "bundle_ids": request.bundle_ids,
    });
    tracing::info!(key_id = %request.key_id, team_id = %request.team_id, "apns key registered");
    state.registry.add_apns_key(ApnsKey {
        key_id: request.key_id,
        team_id: request.team_id,
        bundle_ids: request.bundle_ids,
        public_key,
        environment: request.environment,
        related_key_id: request.related_key_id,
    });
    Ok(ok(answer))
}

/// A Google service-account file; the fields not listed are ignored.
#[derive(Deserialize)]
struct ServiceAccountFile {
    project_id: String,
    client_email: String,
    private_key: String,
    #[serde(default)]
    private_key_id: String,
    token_uri: Option<String>,
}

fn register_fcm_account(
    state: &State,
    conn: ConnInfo,
    parts: &Parts,
    body: &Bytes,
) -> Result<Resp, Failure> {
    let file: ServiceAccountFile = parse(body)?;
    if file.project_id.is_empty() || file.client_email.is_empty() {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "project_id and client_email are required",
        ));
    }
    let public_key = credentials::rsa_public_key(&file.private_key)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e))?;
    let account = FcmAccount {
        token_uri: file
            .token_uri
            .unwrap_or_else(|| format!("{}{}", http_util::base_url(conn, parts), oauth::PATH)),
        client_email: file.client_email,
        project_id: file.project_id,
        private_key_id: file.private_key_id,
        public_key,
    };
    let answer = json!({
        "client_email": account.client_email,
        "project_id": account.project_id,
        "private_key_id": account.private_key_id,
        "token_uri": account.token_uri,
    });
    tracing::info!(client_email = %account.client_email, project_id = %account.project_id,
        "service account registered");
    state.registry.add_fcm_account(account);
    Ok(ok(answer))
}

/// Web Push recordings: asked for with `provider=webpush`, or with a
/// `token` that is an endpoint URL.
fn web_push_deliveries(state: &State, parts: &Parts) -> Option<Result<Resp, Failure>> {
    let pairs: Vec<(String, String)> =
        http_util::form_pairs(parts.uri.query().unwrap_or_default()).collect();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let token = get("token");
    let wanted = get("provider") == Some("webpush")
        || token.is_some_and(|t| t.starts_with("https://") || t.starts_with("http://"));
    if !wanted {
        return None;
    }
    let limit = match get("limit").map(str::parse::<usize>) {
        None => None,
        Some(Ok(limit)) => Some(limit),
        Some(Err(_)) => {
            return Some(Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "limit must be a non-negative integer",
            )))
        }
    };
    Some(Ok(ok(state.web_push.query(token, limit))))
}

fn list_deliveries(state: &State, parts: &Parts) -> Result<Resp, Failure> {
    if let Some(answer) = web_push_deliveries(state, parts) {
        return answer;
    }
    let mut filter = Filter::default();
    for (key, value) in http_util::form_pairs(parts.uri.query().unwrap_or_default()) {
        match key.as_str() {
            "provider" if value == "apns" || value == "fcm" => filter.provider = Some(value),
            "provider" => {
                return Err(Failure::new(
                    StatusCode::BAD_REQUEST,
                    "provider must be apns or fcm",
                ))
            }
            "token" => filter.token = Some(value),
            "topic" => filter.topic = Some(value),
            "project_id" => filter.project_id = Some(value),
            "limit" => {
                let limit = value.parse().map_err(|_| {
                    Failure::new(
                        StatusCode::BAD_REQUEST,
                        "limit must be a non-negative integer",
                    )
                })?;
                filter.limit = Some(limit);
            }
            _ => {}
        }
    }
    let body = state.recorder.query_json(&filter);
    Ok(http_util::raw_json(
        StatusCode::OK,
        http_util::APPLICATION_JSON,
        body,
    ))
}

fn stats(state: &State) -> Resp {
    let mut snapshot = state.stats.snapshot();
    let (stored, dropped) = state.recorder.sizes();
    snapshot["deliveries_stored"] = json!(stored);
    snapshot["deliveries_dropped"] = json!(dropped);
    ok(snapshot)
}

fn add_fault(state: &State, body: &Bytes) -> Result<Resp, Failure> {
    let spec: FaultSpec = parse(body)?;
    tracing::info!(fault = spec.kind(), "fault added");
    state
        .faults
        .add(spec)
        .map_err(|e| Failure::new(StatusCode::BAD_REQUEST, e))?;
    Ok(ok(json!({"faults": state.faults.snapshot()})))
}
