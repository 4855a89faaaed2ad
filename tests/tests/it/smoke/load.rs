//! Load and isolation through the local stack: concurrent clients across
//! several tenants, each with its own API key, registering, listing and
//! sending, and trying other tenants' paths on the way. Judged by the
//! answers and by what the push simulator received:
//!
//! - zero 5xx answers;
//! - every cross-tenant request refused with 403, naming nothing of the
//!   other tenant;
//! - every registered device still registered afterwards;
//! - every push a send reported delivered arrived exactly once, and a bulk
//!   send to every user reached every device exactly once;
//! - none of the secrets the run used (API keys, the user token, the
//!   tenants' private keys) and no push text appears in the functions' logs.
//!
//! Bounded: `NOTIFY_LOAD_SECONDS` (default 20) of sending, then the bulk
//! round; `NOTIFY_LOAD_CLIENTS` (50) and `NOTIFY_LOAD_TENANTS` (5).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::Stack;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|value| *value > 0)
        .unwrap_or(default)
}

/// One tenant of the run: its id, its backend key, its secrets.
#[derive(Clone)]
struct LoadTenant {
    tenant_id: String,
    key: String,
    /// Private keys and other material that must never be logged.
    secrets: Vec<String>,
}

/// What the clients saw, shared between them.
#[derive(Default)]
struct Tally {
    requests: u64,
    server_errors: Vec<String>,
    leaks: Vec<String>,
    cross_tenant_refused: u64,
    /// Pushes the API reported delivered, by device token.
    delivered: HashMap<String, u64>,
    /// Devices registered, by tenant: (user, token).
    registered: HashMap<String, Vec<(String, String)>>,
    /// Texts of the pushes sent: must not be logged.
    push_texts: Vec<String>,
    latencies_ms: Vec<u64>,
}

impl Tally {
    fn answer(&mut self, what: &str, status: u16, started: Instant) {
        self.requests += 1;
        self.latencies_ms
            .push(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        if status >= 500 {
            self.server_errors.push(format!("{what}: {status}"));
        }
    }
}

fn device_token(client: usize, slot: usize) -> (String, &'static str) {
    if slot.is_multiple_of(2) {
        (format!("{:032x}{:032x}", 0x10ad_0000 + client, slot), "ios")
    } else {
        (
            format!("load{client}x{slot}:APA91b{}", "L".repeat(120)),
            "android",
        )
    }
}

async fn tenant(stack: &Stack, org: &str, n: usize) -> LoadTenant {
    let (status, mut credentials) = stack
        .send(
            stack
                .http
                .post(format!("{}/admin/credentials", stack.simulator))
                .json(&json!({"bundle_id": format!("com.example.load{n}")})),
        )
        .await;
    assert_eq!(status, 200, "{credentials}");
    let secrets = vec![
        credentials["private_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        credentials["fcm_service_account"]["private_key"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ];
    credentials["org_id"] = json!(org);
    credentials["use_sandbox"] = json!(true);
    let (status, created) = stack
        .send(stack.as_user(Method::POST, "/tenants").json(&credentials))
        .await;
    assert_eq!(status, 200, "{created}");
    let tenant_id = created["tenant_id"].as_str().unwrap_or_default().to_owned();
    let (status, key) = stack
        .send(
            stack
                .as_user(Method::POST, &format!("/tenants/{tenant_id}/api-keys"))
                // Ten clients share each tenant's key and send as fast as
                // the stack answers: the deployment's maximum (1000 per
                // second), not the default 50, which the load would exceed
                // and count as throttled rather than as the stack's answer.
                .json(&json!({"name": "load", "rate_limit": 1000})),
        )
        .await;
    assert_eq!(status, 200, "{key}");
    let key = key["key"].as_str().unwrap_or_default().to_owned();
    let mut secrets = secrets;
    secrets.push(key.clone());
    LoadTenant {
        tenant_id,
        key,
        secrets,
    }
}

/// One client's loop until `until`: register, list, send; in the first
/// round and every third after it, a request on another tenant's path with
/// its own key (first, so that a slow stack, where a client manages only a
/// round or two, still probes).
async fn client(
    stack: Arc<Stack>,
    tenants: Arc<Vec<LoadTenant>>,
    index: usize,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
    run: String,
) {
    let own = &tenants[index % tenants.len()];
    let other = &tenants[(index + 1) % tenants.len()];
    let base = format!("/tenants/{}", own.tenant_id);
    let mut round = 0usize;
    while Instant::now() < until {
        let slot = round % 4;
        let user = format!("client{index}-user{}", slot % 2);
        let (token, platform) = device_token(index, slot);

        let started = Instant::now();
        let body = json!({"user_id": user, "token": token, "platform": platform});
        let (status, answer) = stack
            .send(
                stack
                    .with_key(Method::POST, &format!("{base}/devices"), &own.key)
                    .json(&body),
            )
            .await;
        {
            let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
            tally.answer("register", status, started);
            if status == 200 {
                let devices = tally.registered.entry(own.tenant_id.clone()).or_default();
                if !devices.contains(&(user.clone(), token.clone())) {
                    devices.push((user.clone(), token.clone()));
                }
            }
        }
        assert_eq!(status, 200, "register: {answer}");

        let started = Instant::now();
        let (status, listed) = stack
            .send(stack.with_key(
                Method::GET,
                &format!("{base}/devices?user_id={user}"),
                &own.key,
            ))
            .await;
        tally
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .answer("list", status, started);
        assert_eq!(status, 200, "list: {listed}");
        assert!(
            listed.to_string().contains(&token),
            "own device missing: {listed}"
        );

        let text = format!("load {run} {index}-{round}");
        let started = Instant::now();
        let push = json!({"user_id": user, "alert": {"title": text}});
        let (status, sent) = stack
            .send(
                stack
                    .with_key(Method::POST, &format!("{base}/notify"), &own.key)
                    .json(&push),
            )
            .await;
        {
            let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
            tally.answer("send", status, started);
            tally.push_texts.push(text);
            for result in sent["results"].as_array().into_iter().flatten() {
                if result["success"] == json!(true) {
                    let token = result["token"].as_str().unwrap_or_default();
                    *tally
                        .delivered
                        .entry(token.to_ascii_lowercase())
                        .or_default() += 1;
                }
            }
        }
        assert_eq!(status, 200, "send: {sent}");

        if round.is_multiple_of(3) {
            // The other tenant's devices and sends, with this tenant's key.
            let probes = [
                (
                    Method::GET,
                    format!(
                        "/tenants/{}/devices?user_id=client{}-user0",
                        other.tenant_id,
                        index + 1
                    ),
                ),
                (Method::POST, format!("/tenants/{}/notify", other.tenant_id)),
                (Method::GET, format!("/tenants/{}", other.tenant_id)),
            ];
            for (method, path) in probes {
                let started = Instant::now();
                let request = stack.with_key(method, &path, &own.key).json(&push);
                let (status, answer) = stack.send(request).await;
                let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                tally.answer("cross-tenant", status, started);
                let text = answer.to_string();
                if status != 403 || text.contains(&other.tenant_id[4..]) || text.contains("token\"")
                {
                    tally.leaks.push(format!("{path}: {status} {text}"));
                } else {
                    tally.cross_tenant_refused += 1;
                }
            }
        }
        round += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the local stack: run through scripts/test"]
async fn concurrent_clients_across_tenants_never_see_each_other_and_every_push_arrives_once() {
    let stack = Arc::new(Stack::from_env());
    let seconds = setting("NOTIFY_LOAD_SECONDS", 20);
    let clients = usize::try_from(setting("NOTIFY_LOAD_CLIENTS", 50)).unwrap_or(50);
    let tenant_count = usize::try_from(setting("NOTIFY_LOAD_TENANTS", 5)).unwrap_or(5);
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (status, who) = stack
        .send(stack.as_user(Method::GET, "/auth/validate"))
        .await;
    assert_eq!(status, 200, "{who}");
    let org = who["orgs"][0].as_str().unwrap_or_default().to_owned();

    let mut tenants = Vec::new();
    for n in 0..tenant_count {
        tenants.push(tenant(&stack, &org, n).await);
    }
    let tenants = Arc::new(tenants);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|index| {
            tokio::spawn(client(
                stack.clone(),
                tenants.clone(),
                index,
                until,
                tally.clone(),
                run.clone(),
            ))
        })
        .collect();
    for worker in workers {
        if let Err(err) = worker.await {
            panic!("a client failed: {err}");
        }
    }
    let sending = started.elapsed();

    // Every registered device is still there.
    let registered = tally
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .registered
        .clone();
    for tenant in tenants.iter() {
        let devices = registered
            .get(&tenant.tenant_id)
            .cloned()
            .unwrap_or_default();
        let mut by_user: HashMap<&str, Vec<&str>> = HashMap::new();
        for (user, token) in &devices {
            by_user.entry(user).or_default().push(token);
        }
        for (user, tokens) in by_user {
            let (status, listed) = stack
                .send(stack.with_key(
                    Method::GET,
                    &format!("/tenants/{}/devices?user_id={user}", tenant.tenant_id),
                    &tenant.key,
                ))
                .await;
            assert_eq!(status, 200, "{listed}");
            let text = listed.to_string();
            for token in tokens {
                assert!(
                    text.contains(token),
                    "device {token} of {user} lost: {listed}"
                );
            }
        }
    }

    // One bulk send per tenant to all its users: every device once more.
    let mut batches = Vec::new();
    for tenant in tenants.iter() {
        let mut users: Vec<String> = registered
            .get(&tenant.tenant_id)
            .into_iter()
            .flatten()
            .map(|(user, _)| user.clone())
            .collect();
        users.sort();
        users.dedup();
        if users.is_empty() {
            continue;
        }
        let text = format!("load bulk {run} {}", tenant.tenant_id);
        let (status, batch) = stack
            .send(
                stack
                    .with_key(
                        Method::POST,
                        &format!("/tenants/{}/notify/bulk", tenant.tenant_id),
                        &tenant.key,
                    )
                    .json(&json!({"user_ids": users, "alert": {"title": text}})),
            )
            .await;
        assert_eq!(status, 200, "{batch}");
        tally
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_texts
            .push(text);
        batches.push((
            tenant.clone(),
            batch["batch_id"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    for (tenant, batch_id) in &batches {
        loop {
            let (status, progress) = stack
                .send(stack.with_key(
                    Method::GET,
                    &format!("/tenants/{}/notify/bulk/{batch_id}", tenant.tenant_id),
                    &tenant.key,
                ))
                .await;
            assert_eq!(status, 200, "{progress}");
            if progress["status"] == "done" {
                assert_eq!(progress["failed"], 0, "{progress}");
                break;
            }
            assert!(Instant::now() < deadline, "bulk not done: {progress}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // The simulator is the judge: exactly once per reported delivery.
    let (status, deliveries) = stack
        .send(stack.http.get(format!("{}/deliveries", stack.simulator)))
        .await;
    assert_eq!(status, 200);
    let mut received: HashMap<String, u64> = HashMap::new();
    for delivery in deliveries["deliveries"].as_array().into_iter().flatten() {
        let token = delivery["token"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        *received.entry(token).or_default() += 1;
    }
    let tally = tally.lock().unwrap_or_else(|p| p.into_inner());
    let mut wrong = Vec::new();
    let mut pushes = 0;
    for (token, sent) in &tally.delivered {
        pushes += sent + 1;
        let expected = sent + 1; // and the bulk send
        let got = received.get(token).copied().unwrap_or_default();
        if got != expected {
            wrong.push(format!("{token}: expected {expected}, received {got}"));
        }
    }
    let mut latencies = tally.latencies_ms.clone();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies
            .get(latencies.len() * p / 100)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "load: {clients} clients, {tenant_count} tenants, {:.1} s: {} requests ({:.0}/s), p50 {} ms, p99 {} ms; \
         {} cross-tenant attempts refused; {pushes} pushes checked; 5xx: {}, leaks: {}, wrong counts: {}",
        sending.as_secs_f64(),
        tally.requests,
        tally.requests as f64 / sending.as_secs_f64().max(0.001),
        percentile(50),
        percentile(99),
        tally.cross_tenant_refused,
        tally.server_errors.len(),
        tally.leaks.len(),
        wrong.len()
    );
    assert!(
        tally.server_errors.is_empty(),
        "5xx: {:?}",
        tally.server_errors
    );
    assert!(tally.leaks.is_empty(), "cross-tenant: {:?}", tally.leaks);
    assert!(
        tally.cross_tenant_refused > 0,
        "no cross-tenant attempt was made"
    );
    assert!(wrong.is_empty(), "duplicates or losses: {wrong:?}");
    assert!(!tally.delivered.is_empty(), "nothing was delivered");

    // The functions' metric lines reached their log whole, and count at
    // least every push checked above as delivered (`notifyctl metrics`).
    if let Ok(dir) = std::env::var("NOTIFY_DEV_LOG_DIR") {
        let log = std::fs::read(format!("{dir}/lambda.log")).unwrap_or_default();
        let mut counted = 0.0;
        for tenant in tenants.iter() {
            let selection = notifyctl::metrics::Selection {
                tenant_id: Some(tenant.tenant_id.clone()),
                ..Default::default()
            };
            let summary = notifyctl::metrics::summarize(log.as_slice(), &selection)
                .unwrap_or_else(|err| panic!("{err:#}"));
            assert_eq!(summary.invalid, 0, "metric lines that are not EMF");
            counted += notify_shared::metrics::PROVIDERS
                .iter()
                .filter_map(|provider| {
                    summary.sum("Pushes", &format!("Provider={provider} Outcome=delivered"))
                })
                .sum::<f64>();
        }
        println!("load: the metric lines count {counted} delivered pushes");
        assert!(
            counted >= pushes as f64,
            "metric lines count {counted} delivered pushes, the simulator received {pushes}"
        );
    }

    // Nothing secret in the functions' logs.
    if let Ok(dir) = std::env::var("NOTIFY_DEV_LOG_DIR") {
        let log = std::fs::read_to_string(format!("{dir}/lambda.log")).unwrap_or_default();
        assert!(!log.is_empty(), "no function log in {dir}");
        let mut secrets: Vec<String> = tenants.iter().flat_map(|t| t.secrets.clone()).collect();
        secrets.push(stack.user_token.clone());
        for secret in &secrets {
            for line in secret
                .lines()
                .filter(|line| line.len() >= 40 && !line.starts_with("-----"))
            {
                assert!(!log.contains(line), "a secret reached the log");
            }
            assert!(!log.contains(secret.as_str()), "a secret reached the log");
        }
        for text in &tally.push_texts {
            assert!(
                !log.contains(text.as_str()),
                "a push text reached the log: {text}"
            );
        }
        println!(
            "load: {} secrets and {} push texts checked against {} bytes of logs",
            secrets.len(),
            tally.push_texts.len(),
            log.len()
        );
    }
}
