//! Minting user tokens with the signing secret.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use notify_shared::auth::user_token::{mint, UserClaims};
use serde::Serialize;

/// The claims signed: the user's, plus the audience and issuer a deployment
/// may require (its `NOTIFY_JWT_AUDIENCE` and `NOTIFY_JWT_ISSUER`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenClaims {
    #[serde(flatten)]
    pub user: UserClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// Parses `3600`, `3600s`, `15m`, `1h`, `30d` (one number, one optional unit).
pub fn parse_ttl(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| anyhow!("`{text}` is not a duration like 3600s, 15m, 1h or 30d"))?;
    let unit_seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => bail!("`{text}`: the unit must be s, m, h or d"),
    };
    let seconds = number
        .checked_mul(unit_seconds)
        .filter(|seconds| *seconds > 0 && *seconds <= 10 * 365 * 86_400)
        .ok_or_else(|| anyhow!("`{text}`: the lifetime must be between 1 second and 10 years"))?;
    Ok(Duration::from_secs(seconds))
}

/// Claims for `sub` valid from `now` (Unix seconds) for `ttl`.
pub fn claims(
    sub: &str,
    orgs: Vec<String>,
    email: Option<String>,
    ttl: Duration,
    now: i64,
) -> Result<UserClaims> {
    if sub.trim().is_empty() {
        bail!("--sub must not be empty");
    }
    let ttl = i64::try_from(ttl.as_secs()).map_err(|_| anyhow!("lifetime too long"))?;
    Ok(UserClaims {
        sub: sub.to_owned(),
        exp: now.saturating_add(ttl),
        orgs,
        email,
        iat: Some(now),
    })
}

/// An HS256 token the functions accept while `secret` is current (and,
/// where a deployment requires them, its `aud` and `iss` match).
pub fn mint_token(claims: &TokenClaims, secret: &str) -> Result<String> {
    mint(claims, secret.as_bytes()).map_err(|err| anyhow!("signing the token: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_shared::auth::user_token::verify_with_secret;
    use notify_shared::config::JwtRules;

    #[test]
    fn durations_take_seconds_minutes_hours_and_days() {
        let parsed: Vec<_> = ["3600", "3600s", "15m", "1h", "30d"]
            .into_iter()
            .map(|text| parse_ttl(text).map(|ttl| ttl.as_secs()).ok())
            .collect();
        assert_eq!(
            parsed,
            vec![
                Some(3600),
                Some(3600),
                Some(900),
                Some(3600),
                Some(2_592_000)
            ]
        );
    }

    #[test]
    fn nonsense_durations_are_refused() {
        for text in ["", "h", "1w", "-1h", "0s", "1.5h", "99999999999999999999d"] {
            assert!(parse_ttl(text).is_err(), "{text} accepted");
        }
    }

    #[test]
    fn a_minted_token_verifies_with_the_same_secret_and_carries_the_claims() {
        let now = chrono::Utc::now().timestamp();
        let claims = claims(
            "dev-user",
            vec!["dev-org".into()],
            Some("dev@example.com".into()),
            Duration::from_secs(60),
            now,
        );
        let claims = match claims {
            Ok(claims) => claims,
            Err(err) => panic!("{err:#}"),
        };
        let secret = crate::secrets::random_signing_secret();
        let signed = TokenClaims {
            user: claims.clone(),
            aud: None,
            iss: None,
        };
        let verified = mint_token(&signed, &secret).ok().and_then(|token| {
            verify_with_secret(&token, secret.as_bytes(), &JwtRules::default()).ok()
        });
        assert_eq!(verified, Some(claims));
    }

    #[test]
    fn a_token_minted_with_an_audience_and_issuer_verifies_where_they_are_required() {
        let now = chrono::Utc::now().timestamp();
        let claims = claims("dev-user", Vec::new(), None, Duration::from_secs(60), now)
            .unwrap_or_else(|err| panic!("{err:#}"));
        let rules = JwtRules {
            audience: Some("notify".to_owned()),
            issuer: Some("https://auth.example.com".to_owned()),
        };
        let secret = crate::secrets::random_signing_secret();
        let verify = |aud: Option<&str>, iss: Option<&str>, rules: &JwtRules| {
            let signed = TokenClaims {
                user: claims.clone(),
                aud: aud.map(str::to_owned),
                iss: iss.map(str::to_owned),
            };
            mint_token(&signed, &secret)
                .ok()
                .and_then(|token| verify_with_secret(&token, secret.as_bytes(), rules).ok())
        };
        let (aud, iss) = (Some("notify"), Some("https://auth.example.com"));
        assert_eq!(verify(aud, iss, &rules), Some(claims.clone()));
        assert_eq!(verify(None, iss, &rules), None);
        assert_eq!(verify(aud, None, &rules), None);
        // A token with an audience is refused where none is configured.
        assert_eq!(verify(aud, iss, &JwtRules::default()), None);
    }

    #[test]
    fn generated_secrets_are_64_base62_characters() {
        let secret = crate::secrets::random_signing_secret();
        assert_eq!(secret.len(), 64);
        assert!(secret.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(secret, crate::secrets::random_signing_secret());
    }

    #[test]
    fn an_empty_subject_is_refused() {
        assert!(claims(" ", Vec::new(), None, Duration::from_secs(60), 0).is_err());
    }
}
