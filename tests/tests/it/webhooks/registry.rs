//! Creating, listing and deleting webhooks: the secret shown once, the
//! rules a URL must meet, who may do it, the cap, and the tenant purge.

use notify_shared::service::webhooks::MAX_WEBHOOKS_PER_TENANT;
use notify_tests::flows::{assert_detail_names, assert_error, delete_tenant};
use notify_tests::webhooks::{create_webhook, deliveries};
use notify_tests::{call, parts};
use serde_json::{json, Value};

use super::{text, Hooked};

async fn list(hooked: &Hooked, token_or_key: Result<&str, &str>) -> (u16, Value) {
    let request =
        call("GET", "/tenants/{tenant_id}/webhooks").param("tenant_id", &hooked.tenant_id);
    let request = match token_or_key {
        Ok(token) => request.bearer(token),
        Err(key) => request.api_key(key),
    };
    parts(&webhook_list::handle(&hooked.env.app, request.build()).await)
}

async fn delete(hooked: &Hooked, webhook_id: &str) -> (u16, Value) {
    let request = call("DELETE", "/tenants/{tenant_id}/webhooks/{webhook_id}")
        .param("tenant_id", &hooked.tenant_id)
        .param("webhook_id", webhook_id)
        .bearer(&hooked.owner);
    parts(&webhook_delete::handle(&hooked.env.app, request.build()).await)
}

#[tokio::test]
async fn a_webhook_shows_its_secret_once_and_is_listed_without_it() {
    let hooked = Hooked::start(false).await;
    let (status, created) = create_webhook(
        &hooked.env.app,
        &hooked.owner,
        &hooked.tenant_id,
        json!({"url": "https://hooks.example.com/in", "events": ["devices.removed", "batch.completed", "batch.completed"], "description": "prod"}),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let webhook_id = text(&created, "webhook_id").unwrap_or_default();
    let secret = text(&created, "secret").unwrap_or_default();
    assert!(
        webhook_id.starts_with("wh_") && webhook_id.len() == 23,
        "{created}"
    );
    assert!(
        secret.starts_with("whsec_") && secret.len() == 50,
        "{created}"
    );
    assert_eq!(
        created["events"],
        json!(["batch.completed", "devices.removed"])
    );
    assert_eq!(created["description"], "prod");

    let (status, listed) = list(&hooked, Ok(&hooked.owner)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed,
        json!({"webhooks": [{"webhook_id": webhook_id, "url": "https://hooks.example.com/in",
            "events": ["batch.completed", "devices.removed"], "description": "prod",
            "created_at": created["created_at"]}]})
    );
    // The secret lives in Secrets Manager only, never in the table.
    let key = secret.trim_start_matches("whsec_");
    assert!(!hooked.env.table_dump().await.contains(key));
    assert_eq!(
        hooked.env.tenant_secret_count().await,
        2,
        "the tenant's and the webhook's"
    );
}

#[tokio::test]
async fn bad_webhooks_are_refused_naming_the_field() {
    let hooked = Hooked::start(false).await;
    let refused = [
        (
            json!({"url": "http://hooks.example.com/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://127.0.0.1/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "http://127.0.0.1:8080/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://169.254.169.254/latest/meta-data/", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://10.0.0.8/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://[::1]/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://[::ffff:192.168.0.1]/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://user:pw@hooks.example.com/in", "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": format!("https://hooks.example.com/{}", "a".repeat(2048)), "events": ["batch.completed"]}),
            "`url`",
        ),
        (
            json!({"url": "https://hooks.example.com/in", "events": []}),
            "`events`",
        ),
        (
            json!({"url": "https://hooks.example.com/in", "events": ["batch.done"]}),
            "`events`",
        ),
        (
            json!({"url": "https://hooks.example.com/in", "events": ["batch.completed"], "description": "d".repeat(501)}),
            "`description`",
        ),
    ];
    for (body, field) in refused {
        let answer = create_webhook(
            &hooked.env.app,
            &hooked.owner,
            &hooked.tenant_id,
            body.clone(),
        )
        .await;
        assert_error((answer.0, &answer.1), 400, "invalid_request");
        assert_detail_names(&answer.1, field);
    }
    let (_, listed) = list(&hooked, Ok(&hooked.owner)).await;
    assert_eq!(listed, json!({"webhooks": []}));
    assert_eq!(
        hooked.env.tenant_secret_count().await,
        1,
        "no webhook secret was made"
    );
}

#[tokio::test]
async fn an_api_key_is_forbidden_on_every_webhook_endpoint() {
    let hooked = Hooked::start(false).await;
    let (webhook_id, _) = hooked
        .webhook("https://hooks.example.com/in", &["batch.completed"])
        .await;
    let created = hooked
        .env
        .create_api_key(
            &hooked.owner,
            &hooked.tenant_id,
            json!({"name": "server", "scopes": ["register", "devices", "send"]}),
        )
        .await;
    let key = created["key"].as_str().unwrap_or_default();
    let with_key = |method: &str, path: &str| {
        call(method, path)
            .param("tenant_id", &hooked.tenant_id)
            .param("webhook_id", &webhook_id)
            .api_key(key)
    };
    let app = &hooked.env.app;
    let answers = [
        parts(
            &webhook_create::handle(
                app,
                with_key("POST", "/tenants/{tenant_id}/webhooks")
                    .json(json!({"url": "https://x.example.com/", "events": ["batch.completed"]}))
                    .build(),
            )
            .await,
        ),
        parts(
            &webhook_list::handle(
                app,
                with_key("GET", "/tenants/{tenant_id}/webhooks").build(),
            )
            .await,
        ),
        parts(
            &webhook_delete::handle(
                app,
                with_key("DELETE", "/tenants/{tenant_id}/webhooks/{webhook_id}").build(),
            )
            .await,
        ),
        parts(
            &webhook_deliveries::handle(
                app,
                with_key(
                    "GET",
                    "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries",
                )
                .build(),
            )
            .await,
        ),
    ];
    for (status, body) in answers {
        assert_error((status, &body), 403, "forbidden");
    }
    let (_, listed) = list(&hooked, Ok(&hooked.owner)).await;
    assert_eq!(
        listed["webhooks"].as_array().map(Vec::len),
        Some(1),
        "nothing was created or deleted"
    );
}

#[tokio::test]
async fn another_orgs_user_and_unknown_ids_get_404() {
    let hooked = Hooked::start(false).await;
    let (webhook_id, _) = hooked
        .webhook("https://hooks.example.com/in", &["batch.completed"])
        .await;
    let stranger = hooked.env.user_token("mallory", &["evil"]);
    let (status, _) = create_webhook(
        &hooked.env.app,
        &stranger,
        &hooked.tenant_id,
        json!({"url": "https://x.example.com/", "events": ["batch.completed"]}),
    )
    .await;
    assert!(status == 404 || status == 403, "{status}");
    let (status, body) =
        deliveries(&hooked.env.app, &stranger, &hooked.tenant_id, &webhook_id).await;
    assert!(status == 404 || status == 403, "{body}");
    for unknown in [
        "wh_00000000000000000000",
        "nope",
        "key_7Hq2LmN4pR8sT1vW3xY5",
    ] {
        let answer = delete(&hooked, unknown).await;
        assert_error((answer.0, &answer.1), 404, "not_found");
        let answer = deliveries(&hooked.env.app, &hooked.owner, &hooked.tenant_id, unknown).await;
        assert_error((answer.0, &answer.1), 404, "not_found");
    }
}

#[tokio::test]
async fn a_deleted_webhook_and_its_secret_are_gone_and_a_second_delete_is_404() {
    let hooked = Hooked::start(false).await;
    let (webhook_id, _) = hooked
        .webhook("https://hooks.example.com/in", &["batch.completed"])
        .await;
    let (status, body) = delete(&hooked, &webhook_id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deleted": true, "webhook_id": webhook_id}));
    let (_, listed) = list(&hooked, Ok(&hooked.owner)).await;
    assert_eq!(listed, json!({"webhooks": []}));
    assert_eq!(hooked.env.tenant_secret_count().await, 1);
    let answer = delete(&hooked, &webhook_id).await;
    assert_error((answer.0, &answer.1), 404, "not_found");
    let answer = deliveries(
        &hooked.env.app,
        &hooked.owner,
        &hooked.tenant_id,
        &webhook_id,
    )
    .await;
    assert_error((answer.0, &answer.1), 404, "not_found");
}

#[tokio::test]
async fn a_tenant_has_at_most_ten_webhooks_and_a_deletion_makes_room() {
    let hooked = Hooked::start(false).await;
    let mut ids = Vec::new();
    for n in 0..MAX_WEBHOOKS_PER_TENANT {
        ids.push(
            hooked
                .webhook(
                    &format!("https://hooks.example.com/{n}"),
                    &["batch.completed"],
                )
                .await
                .0,
        );
    }
    let body = json!({"url": "https://hooks.example.com/one-more", "events": ["batch.completed"]});
    let answer = create_webhook(
        &hooked.env.app,
        &hooked.owner,
        &hooked.tenant_id,
        body.clone(),
    )
    .await;
    let detail = assert_error((answer.0, &answer.1), 409, "webhook_limit_reached");
    assert!(detail.contains("at most 10 webhooks"), "{detail}");
    assert_eq!(
        hooked.env.tenant_secret_count().await,
        1 + MAX_WEBHOOKS_PER_TENANT as usize,
        "the refused webhook's secret was taken back"
    );
    assert_eq!(delete(&hooked, &ids[3]).await.0, 200);
    let (status, created) =
        create_webhook(&hooked.env.app, &hooked.owner, &hooked.tenant_id, body).await;
    assert_eq!(status, 200, "{created}");
}

#[tokio::test]
async fn a_deleted_tenant_leaves_no_webhook_and_no_webhook_secret() {
    let hooked = Hooked::start(false).await;
    hooked
        .webhook("https://hooks.example.com/a", &["batch.completed"])
        .await;
    hooked
        .webhook("https://hooks.example.com/b", &["devices.removed"])
        .await;
    assert_eq!(hooked.env.tenant_secret_count().await, 3);
    delete_tenant(&hooked.env, &hooked.owner, &hooked.tenant_id).await;
    assert_eq!(hooked.env.tenant_secret_count().await, 0);
    let dump = hooked.env.table_dump().await;
    assert!(!dump.contains("WEBHOOK"), "{dump}");
}
