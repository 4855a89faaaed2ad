//! A tenant's limits (issue 20): set by the operator (`notifyctl
//! tenant-limits`), shown filled in by the tenant object, never set through
//! the API; `devices` (409 `too_many_devices`), `pushes_per_day` (429
//! `quota_exceeded` with `Retry-After` until midnight UTC, and the worker
//! stops a bulk send at it) and `requests_per_second` (429 `rate_limited`,
//! one rate for all the tenant's keys and function instances).

use std::time::Duration;

use notify_shared::clock::{now_unix_secs, Clock};
use notify_shared::App;
use notify_tests::delivery::ios_token;
use notify_tests::faults::app_with;
use notify_tests::flows::{
    assert_error, create_tenant_as, device, get_tenant, ios_users, key_rate_sum, patch_tenant,
    tenant_with_key, Devices,
};
use notify_tests::sim_tenant::SimTenant;
use notify_tests::{call, parts, BulkRig, TestEnv};
use notifyctl::limits::{tenant_limits, LimitChanges, LimitSetting};
use serde_json::{json, Value};

/// `notifyctl tenant-limits` with `changes`: the limits the tenant has of
/// its own afterwards.
async fn set_limits(env: &TestEnv, tenant_id: &str, changes: LimitChanges) -> Value {
    match tenant_limits(&env.app.store, tenant_id, changes).await {
        Ok(report) => json!(report.limits),
        Err(err) => panic!("notifyctl tenant-limits: {err:#}"),
    }
}

fn only(limit: &str, value: u32) -> LimitChanges {
    let setting = Some(LimitSetting::Set(value));
    match limit {
        "devices" => LimitChanges {
            devices: setting,
            ..LimitChanges::default()
        },
        "pushes_per_day" => LimitChanges {
            pushes_per_day: setting,
            ..LimitChanges::default()
        },
        _ => LimitChanges {
            requests_per_second: setting,
            ..LimitChanges::default()
        },
    }
}

#[tokio::test]
async fn limits_are_shown_filled_in_and_only_the_operator_sets_them() {
    let sim = SimTenant::start().await;
    let (env, owner, tenant_id) = (&sim.env, &sim.owner, &sim.tenant_id);
    let defaults =
        json!({"requests_per_second": 1000, "pushes_per_day": 10_000_000, "devices": 10_000_000});
    assert_eq!(get_tenant(env, owner, tenant_id).await["limits"], defaults);

    // The tenant's users cannot raise their own limits, on creation or change.
    let raise = json!({"limits": {"devices": 1_000_000_000}});
    let (status, body) = patch_tenant(env, owner, tenant_id, raise).await;
    let detail = assert_error((status, &body), 403, "forbidden");
    assert!(detail.contains("`limits`"), "{detail}");
    let (status, body) =
        create_tenant_as(&env.app, owner, json!({"org_id": "acme", "limits": {}})).await;
    assert_error((status, &body), 403, "forbidden");

    assert_eq!(
        set_limits(env, tenant_id, only("devices", 5)).await,
        json!({"devices": 5})
    );
    let tenant = get_tenant(env, owner, tenant_id).await;
    assert_eq!(tenant["limits"]["devices"], 5, "{tenant}");
    assert_eq!(tenant["limits"]["pushes_per_day"], 10_000_000, "{tenant}");
    assert_eq!(
        tenant["apns_configured"], true,
        "the rest of the tenant is kept"
    );

    // A later change of the tenant keeps the operator's limits.
    let (status, body) = patch_tenant(env, owner, tenant_id, json!({"use_sandbox": false})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["limits"]["devices"], 5, "{body}");

    let back = LimitChanges {
        devices: Some(LimitSetting::Default),
        ..LimitChanges::default()
    };
    assert_eq!(set_limits(env, tenant_id, back).await, json!({}));
    assert_eq!(get_tenant(env, owner, tenant_id).await["limits"], defaults);
}

#[tokio::test]
async fn a_tenant_at_its_devices_limit_refuses_new_tokens_and_keeps_what_it_has() {
    let env = TestEnv::new().await;
    let (tenant_id, owner, _) = tenant_with_key(&env, "owner", "limits-org", "first").await;
    set_limits(&env, &tenant_id, only("devices", 2)).await;
    let devices = Devices::user(&env, &owner, &tenant_id);
    let (a, b, c) = (ios_token(1), ios_token(2), ios_token(3));
    devices.register_ok(device("u1", &a, "ios")).await;
    devices.register_ok(device("u2", &b, "ios")).await;

    let (status, body) = devices.register(device("u3", &c, "ios")).await;
    let detail = assert_error((status, &body), 409, "too_many_devices");
    assert!(
        detail.contains("`devices` limit") && detail.contains('2'),
        "{detail}"
    );
    assert!(
        devices.tokens_of("u3").await.is_empty(),
        "nothing registered"
    );

    // Re-registering, or moving a token to another user, adds no device.
    devices.register_ok(device("u1", &a, "ios")).await;
    devices.register_ok(device("u3", &b, "ios")).await;
    assert_eq!(devices.tokens_of("u3").await, vec![b.clone()]);

    // Unregistering one makes room for one.
    let (status, body) = devices.unregister(&a, Some("u1")).await;
    assert_eq!(status, 200, "{body}");
    devices.register_ok(device("u4", &c, "ios")).await;
    let (status, body) = devices.register(device("u5", &a, "ios")).await;
    assert_error((status, &body), 409, "too_many_devices");
}

/// An `App` of its own (a second function instance) whose limiters run on
/// `clock`.
fn instance(env: &TestEnv, clock: &Clock) -> App {
    app_with(env, env.dynamodb.clone(), env.secrets.clone()).with_clock(clock.clone())
}

/// A manual clock at noon UTC today: no send of a test crosses midnight.
fn noon() -> Clock {
    let now = now_unix_secs();
    Clock::manual(now - now % 86_400 + 12 * 3_600)
}

#[tokio::test]
async fn sends_stop_at_the_tenant_s_pushes_per_day_until_midnight_utc() {
    let sim = SimTenant::start().await;
    sim.register("u1", &ios_token(7), "ios").await;
    set_limits(&sim.env, &sim.tenant_id, only("pushes_per_day", 2)).await;
    let clock = noon();
    let app = instance(&sim.env, &clock);
    let key = sim.key("backend", json!(["send"])).await;
    let send = || {
        sim.notify_call()
            .api_key(&key)
            .json(json!({"user_id": "u1", "alert": {"title": "Hi"}}))
    };
    for _ in 0..2 {
        let (status, _, body) = sim.send_call_on(&app, send()).await;
        assert_eq!(status, 200, "{body}");
        // The next second: the instance learns the day's total anew.
        clock.advance(Duration::from_secs(1));
    }
    let (status, headers, body) = sim.send_call_on(&app, send()).await;
    assert_eq!(status, 429, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(body["code"], "quota_exceeded", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("`pushes_per_day` of 2")),
        "{body}"
    );
    let retry_after = headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    assert_eq!(retry_after, Some(12 * 3_600 - 2), "until midnight UTC");
    assert_eq!(sim.pushes().await, 2, "nothing pushed over the quota");

    // The first instance held its last push (a busy sender's pushes are
    // written every ten seconds); ten seconds on, its next answer writes it,
    // and another instance, with a user token, refuses too.
    clock.advance(Duration::from_secs(10));
    let (status, _, body) = sim.send_call_on(&app, send()).await;
    assert_eq!(status, 429, "{body}");
    let (status, _, body) = sim
        .send_call_on(
            &instance(&sim.env, &clock),
            sim.notify_call().json(json!({"user_id": "u1", "badge": 1})),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    // The next day's quota is fresh.
    clock.advance(Duration::from_secs(12 * 3_600 - 10));
    let (status, _, body) = sim.send_call_on(&app, send()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_worker_stops_a_bulk_send_at_the_tenant_s_pushes_per_day() {
    let rig = BulkRig::start().await;
    let (users, devices) = ios_users(5);
    rig.register(&devices).await;
    set_limits(&rig.env, &rig.tenant_id, only("pushes_per_day", 3)).await;

    let (status, batch) = rig
        .bulk(json!({"user_ids": users, "alert": {"title": "Sale"}}))
        .await;
    assert_eq!(status, 200, "{batch}");
    let batch_id = batch["batch_id"].as_str().unwrap_or_default();
    let report = rig
        .drain_until_done(batch_id, Duration::from_secs(60))
        .await;
    assert_eq!(report["delivered"], 3, "{report}");
    assert_eq!(
        report["failed"], 2,
        "the users left fail unreached: {report}"
    );
    assert_eq!(rig.pushes_by_token().await.values().sum::<usize>(), 3);

    // The quota is used up: the next bulk send is refused before any work
    // (once the API's instance reads the day's total again, a second on).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (status, body) = rig.bulk(json!({"user_ids": ["user-0"], "badge": 1})).await;
    assert_error((status, &body), 429, "quota_exceeded");
}

#[tokio::test]
async fn a_tenant_s_requests_per_second_bind_all_its_keys_and_instances_together() {
    let env = TestEnv::new().await;
    let (tenant_id, owner, _) = tenant_with_key(&env, "owner", "rate-org", "first").await;
    set_limits(&env, &tenant_id, only("requests_per_second", 4)).await;
    let key = |name: &'static str| {
        let env = &env;
        let (owner, tenant_id) = (&owner, &tenant_id);
        async move {
            let created = env
                .create_api_key(owner, tenant_id, json!({"name": name, "rate_limit": 100}))
                .await;
            created["key"].as_str().unwrap_or_default().to_owned()
        }
    };
    let keys = [key("a").await, key("b").await];
    let now = now_unix_secs();
    let clock = Clock::manual(now - now % 3_600 + 1_800);
    let instances = [instance(&env, &clock), instance(&env, &clock)];
    let list = |n: usize| {
        call("GET", "/tenants/{tenant_id}/devices")
            .param("tenant_id", &tenant_id)
            .query("user_id", "u1")
            .api_key(&keys[n % 2])
    };

    let mut statuses = Vec::new();
    for n in 0..8 {
        let (status, body) = parts(&device_list::handle(&instances[n % 2], list(n).build()).await);
        if status == 429 {
            assert_eq!(body["code"], "rate_limited", "{body}");
            assert!(
                body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("tenant")),
                "{body}"
            );
        }
        statuses.push(status);
    }
    let admitted = statuses.iter().filter(|status| **status == 200).count();
    assert_eq!(admitted, 4, "{statuses:?}");
    assert!(
        statuses.iter().all(|status| [200, 429].contains(status)),
        "{statuses:?}"
    );

    clock.advance(Duration::from_secs(1));
    let (status, body) = parts(&device_list::handle(&instances[0], list(0).build()).await);
    assert_eq!(status, 200, "the next second: {body}");
}

#[tokio::test]
async fn the_sum_of_a_tenant_s_key_rates_follows_key_creations_and_deletions() {
    let env = TestEnv::new().await;
    let (tenant_id, owner, first) = tenant_with_key(&env, "owner", "sum-org", "first").await;
    assert_eq!(
        key_rate_sum(&env, &tenant_id).await,
        Some(50),
        "the default rate"
    );
    env.create_api_key(&owner, &tenant_id, json!({"name": "slow", "rate_limit": 7}))
        .await;
    assert_eq!(key_rate_sum(&env, &tenant_id).await, Some(57));
    let first_id = first["key_id"].as_str().unwrap_or_default();
    let delete = call("DELETE", "/tenants/{tenant_id}/api-keys/{key_id}")
        .param("tenant_id", &tenant_id)
        .param("key_id", first_id)
        .bearer(&owner);
    let (status, body) = parts(&api_key_delete::handle(&env.app, delete.build()).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(key_rate_sum(&env, &tenant_id).await, Some(7));
}
