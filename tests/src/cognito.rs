//! A Cognito user pool in the emulator (moto's `cognito-idp`), driven with
//! plain JSON calls: users, groups, and the id and access tokens of a
//! password sign-in. moto signs them RS256 and serves the key at
//! `{endpoint}/{pool}/.well-known/jwks.json`.

use notify_shared::config::{FetchUrl, OidcSettings};
use serde_json::{json, Value};

use crate::env::emulator_sdk;

const PASSWORD: &str = "Test-passw0rd!";

/// One user pool and one app client of it.
pub struct UserPool {
    endpoint: String,
    http: reqwest::Client,
    pub pool_id: String,
    pub client_id: String,
}

/// What a password sign-in returns.
pub struct Tokens {
    pub id: String,
    pub access: String,
}

impl UserPool {
    pub async fn create() -> Self {
        let (endpoint, _) = emulator_sdk().await;
        // reqwest needs a process-wide TLS provider, even for plain http.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let http = reqwest::Client::builder()
            .build()
            .unwrap_or_else(|err| panic!("HTTP client: {err}"));
        let mut pool = Self {
            endpoint,
            http,
            pool_id: String::new(),
            client_id: String::new(),
        };
        let name = format!("pool-{}", uuid::Uuid::new_v4().simple());
        let created = pool.call("CreateUserPool", json!({"PoolName": name})).await;
        pool.pool_id = text(&created["UserPool"]["Id"]);
        let client = pool
            .call(
                "CreateUserPoolClient",
                json!({
                    "UserPoolId": pool.pool_id,
                    "ClientName": "notify",
                    "ReadAttributes": ["email"],
                    "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
                }),
            )
            .await;
        pool.client_id = text(&client["UserPoolClient"]["ClientId"]);
        pool
    }

    /// The issuer of the pool's tokens, as Cognito (and moto) write `iss`.
    pub fn issuer(&self) -> String {
        format!(
            "https://cognito-idp.us-east-1.amazonaws.com/{}",
            self.pool_id
        )
    }

    /// The settings of a deployment taking this pool's tokens, groups as orgs.
    pub fn oidc_settings(&self) -> OidcSettings {
        let jwks = format!("{}/{}/.well-known/jwks.json", self.endpoint, self.pool_id);
        OidcSettings {
            issuer: self.issuer(),
            audience: self.client_id.clone(),
            orgs_claim: "cognito:groups".to_owned(),
            jwks_url: Some(
                FetchUrl::parse(&jwks).unwrap_or_else(|err| panic!("JWKS URL {jwks}: {err}")),
            ),
        }
    }

    /// Creates `username` (email `username@example.com`) in `groups`, signs
    /// in with a password, and returns the tokens and the user's `sub`.
    pub async fn user(&self, username: &str, groups: &[&str]) -> (Tokens, String) {
        let pool = self.pool_id.as_str();
        let created = self
            .call(
                "AdminCreateUser",
                json!({
                    "UserPoolId": pool,
                    "Username": username,
                    "MessageAction": "SUPPRESS",
                    "UserAttributes": [{"Name": "email", "Value": format!("{username}@example.com")}],
                }),
            )
            .await;
        let sub = created["User"]["Attributes"]
            .as_array()
            .and_then(|attributes| attributes.iter().find(|a| a["Name"] == "sub"))
            .map(|a| text(&a["Value"]))
            .unwrap_or_else(|| panic!("no sub in {created}"));
        self.call(
            "AdminSetUserPassword",
            json!({"UserPoolId": pool, "Username": username, "Password": PASSWORD, "Permanent": true}),
        )
        .await;
        for group in groups {
            self.ensure_group(group).await;
            self.call(
                "AdminAddUserToGroup",
                json!({"UserPoolId": pool, "Username": username, "GroupName": group}),
            )
            .await;
        }
        (self.sign_in(username).await, sub)
    }

    async fn ensure_group(&self, group: &str) {
        let (status, body) = self
            .send(
                "CreateGroup",
                json!({"UserPoolId": self.pool_id, "GroupName": group}),
            )
            .await;
        let exists = body["__type"]
            .as_str()
            .is_some_and(|kind| kind.ends_with("GroupExistsException"));
        assert!(
            status == 200 || exists,
            "CreateGroup {group}: {status} {body}"
        );
    }

    async fn sign_in(&self, username: &str) -> Tokens {
        let answer = self
            .call(
                "AdminInitiateAuth",
                json!({
                    "UserPoolId": self.pool_id,
                    "ClientId": self.client_id,
                    "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                    "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD},
                }),
            )
            .await;
        let result = &answer["AuthenticationResult"];
        Tokens {
            id: text(&result["IdToken"]),
            access: text(&result["AccessToken"]),
        }
    }

    /// One call that must succeed; its answer.
    async fn call(&self, action: &str, body: Value) -> Value {
        let (status, answer) = self.send(action, body).await;
        assert_eq!(status, 200, "{action}: {answer}");
        answer
    }

    async fn send(&self, action: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(&self.endpoint)
            .header("Content-Type", "application/x-amz-json-1.1")
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{action}"),
            )
            // moto routes by the credential scope's service; it checks no signature.
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/cognito-idp/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|err| panic!("{action}: {err}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_owned()
}
