//! What is stored: keys only as hashes, provider secrets only in Secrets Manager.

use notify_tests::flows::create_tenant_as;
use notify_tests::flows::get_tenant_as;
use notify_tests::flows::stored_credentials;
use notify_tests::flows::tenant_with_key;
use notify_tests::keys::{service_account, tenant_with_apns};
use notify_tests::{call, parts, TestEnv};
use secrecy::ExposeSecret;

#[tokio::test]
async fn the_plain_api_key_appears_nowhere_in_dynamodb() {
    let env = TestEnv::new().await;
    let (_, _, created) = tenant_with_key(&env, "alice", "acme", "backend").await;
    let key = created["key"].as_str().unwrap_or_default();
    let dump = env.table_dump().await;
    assert!(
        dump.contains(&notify_shared::auth::api_key::hash(key)),
        "the hash is what is stored"
    );
    let random_part = &key["msk_live_".len()..];
    assert!(!dump.contains(random_part), "plain key stored in DynamoDB");
}

#[tokio::test]
async fn provider_private_keys_appear_in_no_table_item_and_no_response() {
    let env = TestEnv::new().await;
    let token = env.user_token("alice", &["acme"]);
    let mut body = tenant_with_apns("acme");
    let account = service_account("acme-android");
    body["fcm_service_account"] = account.clone();
    let apns_key = body["private_key"].as_str().unwrap_or_default().to_owned();
    let rsa_key = account["private_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The base64 body of each PEM, which any copy would contain.
    let marker = |pem: &str| pem.lines().nth(1).unwrap_or_default().to_owned();

    let (status, created) = create_tenant_as(&env.app, &token, body).await;
    assert_eq!(status, 200, "{created}");
    let tenant_id = created["tenant_id"].as_str().unwrap_or_default().to_owned();
    let (_, fetched) = get_tenant_as(&env.app, &token, &tenant_id).await;
    let (_, listed) =
        parts(&tenant_list::handle(&env.app, call("GET", "/tenants").bearer(&token).build()).await);
    let dump = env.table_dump().await;
    for pem in [&apns_key, &rsa_key] {
        let needle = marker(pem);
        assert!(!needle.is_empty());
        for (place, text) in [
            ("table", &dump),
            ("create", &created.to_string()),
            ("get", &fetched.to_string()),
            ("list", &listed.to_string()),
        ] {
            assert!(!text.contains(&needle), "private key material in {place}");
        }
    }
    // They are in the tenant's secret, and usable.
    let stored = stored_credentials(&env, &tenant_id).await;
    assert_eq!(
        stored
            .apns
            .map(|key| key.private_key.expose_secret().to_owned()),
        Some(apns_key)
    );
    assert_eq!(
        stored
            .fcm
            .map(|account| account.private_key.expose_secret().to_owned()),
        Some(rsa_key)
    );
}
