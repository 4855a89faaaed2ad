//! `POST /token`: Google's OAuth2 JWT-bearer grant for service accounts.
//! Access tokens issued here are what `messages:send` accepts.

use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{Request, StatusCode};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use crate::conn::ConnInfo;
use crate::credentials::AccessGrant;
use crate::http_util::{self, Resp};
use crate::jwt;
use crate::state::State;
use crate::stats::OAUTH;

pub(crate) const PATH: &str = "/token";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Either scope lets a service account send with FCM.
const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// Audiences Google itself accepts, besides this simulator's own URL.
const GOOGLE_TOKEN_URIS: [&str; 2] = [
    "https://oauth2.googleapis.com/token",
    "https://www.googleapis.com/oauth2/v4/token",
];
const LIFETIME_SECS: i64 = 3600;
const CLOCK_SKEW_SECS: i64 = 300;
const MAX_BODY: usize = 64 * 1024;

const TIMEFRAME: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a \
    reasonable timeframe. Check your iat and exp values in the JWT claim.";

#[derive(Debug)]
struct OauthError {
    error: &'static str,
    description: String,
}

fn error(error: &'static str, description: impl Into<String>) -> OauthError {
    OauthError {
        error,
        description: description.into(),
    }
}

fn invalid_grant(description: impl Into<String>) -> OauthError {
    error("invalid_grant", description)
}

pub(crate) async fn handle(state: &State, conn: ConnInfo, req: Request<Incoming>) -> Resp {
    state.stats.token_requested();
    let (parts, body) = req.into_parts();
    let body = http_util::read_body(&parts.headers, body, MAX_BODY).await;
    let result = match body {
        Ok(body) => issue(state, conn, &parts, &body),
        Err(_) => Err(error("invalid_request", "Request body too large.")),
    };
    match result {
        Ok(access_token) => {
            state.stats.token_issued();
            http_util::json(
                StatusCode::OK,
                &json!({
                    "access_token": access_token,
                    "expires_in": state
                        .faults
                        .token_lifetime()
                        .unwrap_or_else(|| LIFETIME_SECS.into()),
                    "token_type": "Bearer",
                }),
            )
        }
        Err(e) => {
            state.stats.rejected(OAUTH, e.error);
            tracing::debug!(error = e.error, description = %e.description, "token request rejected");
            http_util::json(
                StatusCode::BAD_REQUEST,
                &json!({"error": e.error, "error_description": e.description}),
            )
        }
    }
}

fn issue(state: &State, conn: ConnInfo, parts: &Parts, body: &[u8]) -> Result<String, OauthError> {
    let is_form = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(error(
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        ));
    }
    let body = std::str::from_utf8(body).map_err(|_| error("invalid_request", "Bad encoding."))?;
    let (mut grant_type, mut assertion) = (None, None);
    for (key, value) in http_util::form_pairs(body) {
        match key.as_str() {
            "grant_type" => grant_type = Some(value),
            "assertion" => assertion = Some(value),
            _ => {}
        }
    }
    match grant_type.as_deref() {
        Some(GRANT_TYPE) => {}
        Some(other) => {
            return Err(error(
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            ))
        }
        None => {
            return Err(error(
                "invalid_request",
                "Missing required parameter: grant_type",
            ))
        }
    }
    let assertion = assertion
        .ok_or_else(|| error("invalid_request", "Missing required parameter: assertion"))?;
    let grant = verify_assertion(state, &assertion, &this_token_url(conn, parts))?;
    Ok(state.registry.issue_access_token(grant, jwt::now_secs()))
}

fn verify_assertion(
    state: &State,
    assertion: &str,
    own_url: &str,
) -> Result<AccessGrant, OauthError> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: Option<String>,
    }
    #[derive(Deserialize)]
    struct Claims {
        iss: Option<String>,
        scope: Option<String>,
        aud: Option<String>,
        iat: Option<i64>,
        exp: Option<i64>,
    }
    let jws =
        jwt::parse(assertion).ok_or_else(|| invalid_grant("Invalid JWT: Failed to parse."))?;
    let header: Header = jws
        .header()
        .ok_or_else(|| invalid_grant("Invalid JWT: Failed to parse header."))?;
    let claims: Claims = jws
        .claims()
        .ok_or_else(|| invalid_grant("Invalid JWT: Failed to parse claims."))?;
    if header.alg != "RS256" {
        return Err(invalid_grant("Invalid JWT: Algorithm must be RS256."));
    }
    let account = claims
        .iss
        .as_deref()
        .and_then(|iss| state.registry.fcm_account(iss))
        .ok_or_else(|| invalid_grant("Invalid grant: account not found"))?;
    if header.kid.is_some_and(|kid| kid != account.private_key_id)
        || !jws.verify_rs256(&account.public_key)
    {
        return Err(invalid_grant("Invalid JWT Signature."));
    }
    let aud = claims.aud.as_deref().unwrap_or_default();
    if aud != account.token_uri && aud != own_url && !GOOGLE_TOKEN_URIS.contains(&aud) {
        return Err(invalid_grant(format!(
            "Invalid JWT: Audience must be the token URI ({}).",
            account.token_uri
        )));
    }
    let now = jwt::now_secs();
    let (Some(iat), Some(exp)) = (claims.iat, claims.exp) else {
        return Err(invalid_grant(TIMEFRAME));
    };
    if exp <= iat || exp - iat > LIFETIME_SECS || iat > now + CLOCK_SKEW_SECS || exp <= now {
        return Err(invalid_grant(TIMEFRAME));
    }
    let scopes = claims.scope.as_deref().unwrap_or_default();
    if !scopes.split_whitespace().any(|s| SCOPES.contains(&s)) {
        return Err(error(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        ));
    }
    Ok(AccessGrant {
        account,
        expires_at: now + LIFETIME_SECS,
    })
}

fn this_token_url(conn: ConnInfo, parts: &Parts) -> String {
    format!("{}{PATH}", http_util::base_url(conn, parts))
}
