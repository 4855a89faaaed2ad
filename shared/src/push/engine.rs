//! The delivery engine: one notification to many devices of one tenant,
//! concurrently, with bounded retries. Needs no AWS: devices come resolved.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::ProviderEndpoints;
use crate::error::Result;
use crate::model::device::ENDED_ACTIVITY_LINGER_SECS;
use crate::model::push_type::Audience;
use crate::model::{Device, LiveActivityEvent, Notification, PushProvider};
use crate::push::apns::{settle_bad_device_tokens, Apns, ApnsBatch, ApnsMessage};
use crate::push::fcm::{Fcm, FcmBatch, FcmMessage};
use crate::push::outcome::{transient, Attempt, DeliveryOutcome, TargetResult};
use crate::push::retry::RetryPolicy;
use crate::push::target::{Target, TenantPush};
use crate::push::transport::{HttpClient, Transport, TransportSettings};
use crate::push::web_push::{WebPush, WebPushBatch, WebPushMessage};

/// Knobs of the engine; the defaults suit a 2-vCPU Lambda talking to APNs
/// and FCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushConfig {
    /// HTTP/2 connections kept per provider host. Each carries up to the
    /// server's stream limit (APNs and FCM allow hundreds).
    pub connections_per_host: usize,
    /// Pushes in flight at once within one `deliver` call.
    pub max_in_flight: usize,
    /// TCP + TLS + HTTP/2 handshake.
    pub connect_timeout: Duration,
    /// One request and its answer, waiting for a connection included.
    pub request_timeout: Duration,
    /// A connection idle this long (wall clock, so a Lambda freeze counts)
    /// is replaced before use: Lambda drops idle connections while frozen.
    pub idle_timeout: Duration,
    pub retry: RetryPolicy,
    /// The HTTP/2 client: ours unless the benchmark asks for another.
    pub http_client: HttpClient,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            connections_per_host: 2,
            max_in_flight: 1000,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            http_client: HttpClient::Own,
        }
    }
}

/// A validated notification, serialized once for each provider.
#[derive(Debug, Clone)]
pub struct EncodedNotification {
    pub(crate) apns: ApnsMessage,
    pub(crate) fcm: FcmMessage,
    /// The devices it goes to: Live Activity sends to the tokens of their
    /// event, Apple-only push types to Apple devices, others to devices.
    audience: Audience,
    /// An activity `end`: when the activity leaves the Lock Screen, after
    /// which its tokens are expired.
    activity_ends_at: Option<i64>,
    pub(crate) web_push: WebPushMessage,
}

impl EncodedNotification {
    /// Validates and encodes. `Err` is the API's answer: 400 for an invalid
    /// notification, 413 (`Error::PayloadTooLarge`) when the APNs payload
    /// exceeds 4096 bytes or FCM's data exceeds 4096 bytes, whichever
    /// platforms the user has. (Web Push's limit alone depends on them: see
    /// [`Self::with_message_id`].)
    pub fn new(notification: &Notification) -> Result<Self> {
        Self::with_message_id(notification, "")
    }

    /// [`Self::new`] whose Web Push plaintext carries `message_id` (the
    /// send's id, or the bulk batch's). A Web Push plaintext over the
    /// 4096-byte limit is not refused here, where the platforms are not
    /// known: the delivery pipeline applies it to the recipients
    /// (`service::delivery::WebPushSize`): a single send to a user with a
    /// `webpush` device answers 413 ([`Self::check_web_push_size`]), a bulk
    /// delivery fails that device.
    pub fn with_message_id(notification: &Notification, message_id: &str) -> Result<Self> {
        notification.validate()?;
        let activity = notification.live_activity.as_ref();
        Ok(Self {
            apns: crate::push::apns::payload::encode(notification)?,
            fcm: crate::push::fcm::message::encode(notification)?,
            audience: Audience::of(notification),
            activity_ends_at: activity
                .filter(|a| a.event == LiveActivityEvent::End)
                .map(|a| {
                    a.dismissal_date.unwrap_or_else(|| {
                        crate::clock::now_epoch_seconds().saturating_add(ENDED_ACTIVITY_LINGER_SECS)
                    })
                }),
            web_push: WebPushMessage::encode(notification, message_id),
        })
    }

    /// Whether this notification goes to `device` (see [`Audience`]).
    pub fn reaches(&self, device: &Device) -> bool {
        self.audience.admits(
            device.token_type,
            device.platform.provider() == PushProvider::Apns,
        )
    }

    /// For an activity `end`: when its tokens stop being live.
    pub fn activity_ends_at(&self) -> Option<i64> {
        self.activity_ends_at
    }

    /// 413 when the Web Push message would exceed 4096 bytes encrypted.
    pub fn check_web_push_size(&self) -> Result<()> {
        if self.web_push.fits() {
            Ok(())
        } else {
            Err(crate::error::Error::PayloadTooLarge(format!(
                "the Web Push message would exceed 4096 bytes once encrypted (its JSON may be at most {} bytes); shorten `alert` or `data`",
                crate::web_push_protocol::ece::MAX_PLAINTEXT_LEN
            )))
        }
    }

    /// The exact Web Push plaintext (before encryption).
    pub fn web_push_plaintext(&self) -> &[u8] {
        &self.web_push.plaintext
    }

    /// The exact APNs JSON payload.
    pub fn apns_payload(&self) -> &[u8] {
        &self.apns.payload
    }

    /// The exact FCM request body for `token`.
    pub fn fcm_body(&self, token: &str) -> bytes::Bytes {
        self.fcm.body(token)
    }
}

/// The push engine: the APNs, FCM and Web Push clients over one transport,
/// built once per container and shared by every
/// invocation: connections, provider tokens and access tokens persist.
pub struct PushEngine {
    pub(crate) transport: Arc<Transport>,
    pub(crate) apns: Apns,
    pub(crate) fcm: Fcm,
    pub(crate) web_push: WebPush,
    config: PushConfig,
}

enum Sender<'a> {
    Apns(ApnsBatch<'a>),
    Fcm(FcmBatch<'a>),
    WebPush(WebPushBatch<'a>),
    /// Every target gets this outcome without a request.
    Refused(DeliveryOutcome),
}

/// The senders of one delivery, one per provider its targets need.
struct Senders<'a> {
    apns: Option<Sender<'a>>,
    fcm: Option<Sender<'a>>,
    web_push: Option<Sender<'a>>,
}

impl<'a> Senders<'a> {
    fn for_target(&self, target: &Target) -> Option<&Sender<'a>> {
        match target.platform.provider() {
            PushProvider::Apns => self.apns.as_ref(),
            PushProvider::Fcm => self.fcm.as_ref(),
            PushProvider::WebPush => self.web_push.as_ref(),
        }
    }
}

impl Sender<'_> {
    async fn attempt(&self, target: &Target, attempt: u32) -> Attempt {
        match self {
            Sender::Apns(batch) => batch.attempt(&target.token, attempt).await,
            Sender::Fcm(batch) => batch.attempt(&target.token, attempt).await,
            Sender::WebPush(batch) => batch.attempt(target, attempt).await,
            Sender::Refused(outcome) => outcome.clone().into(),
        }
    }
}

impl PushEngine {
    pub fn new(endpoints: &ProviderEndpoints) -> Result<Self> {
        Self::with_config(endpoints, PushConfig::default())
    }

    pub fn with_config(endpoints: &ProviderEndpoints, config: PushConfig) -> Result<Self> {
        Self::with_clock(endpoints, config, Clock::system())
    }

    /// [`Self::with_config`] whose provider-token ages and idle connections
    /// are judged on `clock` (tests move a [`Clock::manual`]).
    pub fn with_clock(
        endpoints: &ProviderEndpoints,
        config: PushConfig,
        clock: Clock,
    ) -> Result<Self> {
        let transport = Transport::new(
            endpoints.extra_ca_file.as_deref(),
            TransportSettings {
                connections_per_host: config.connections_per_host,
                connect_timeout: config.connect_timeout,
                request_timeout: config.request_timeout,
                idle_timeout: config.idle_timeout,
                client: config.http_client,
            },
            clock.clone(),
        )?;
        let mut fcm = Fcm::new(&transport, endpoints)?;
        fcm.tokens.clock = clock.clone();
        let mut web_push = WebPush::new(endpoints.web_push_hosts.clone());
        web_push.clock = clock.clone();
        Ok(Self {
            apns: Apns::new(endpoints, clock)?,
            fcm,
            web_push,
            transport: Arc::new(transport),
            config,
        })
    }

    /// Delivers an encoded notification to every target, concurrently.
    /// `results[i]` is the result for `targets[i]`. With a `deadline` it is
    /// over by then: no attempt, retry or token fetch starts after it and
    /// none runs past it (a push cut short is reported
    /// [`DEADLINE_REACHED`], transient). An invocation passes its own end,
    /// less the time it needs to record the results, so that it never times
    /// out with pushes unrecorded.
    pub async fn deliver(
        &self,
        tenant: &TenantPush,
        encoded: &EncodedNotification,
        targets: &[Target],
        deadline: Option<Instant>,
    ) -> Vec<TargetResult> {
        self.deliver_timed(tenant, encoded, targets, deadline)
            .await
            .0
    }

    /// [`Self::deliver`], with each target's provider latency beside its
    /// result: the time from sending its final request to the answer (a
    /// wait for a connection or a stream included, a timeout's whole
    /// length), `None` when no request was sent (refused before, or cut
    /// short by the deadline before sending).
    pub async fn deliver_timed(
        &self,
        tenant: &TenantPush,
        encoded: &EncodedNotification,
        targets: &[Target],
        deadline: Option<Instant>,
    ) -> (Vec<TargetResult>, Vec<Option<Duration>>) {
        let span =
            tracing::info_span!("deliver", tenant_id = %tenant.tenant_id, targets = targets.len());
        async {
            let started = Instant::now();
            let senders = self.senders(tenant, encoded, targets, deadline).await;
            let (mut results, latencies) = self.push_all(&senders, targets, deadline).await;
            let mut apple: Vec<&mut DeliveryOutcome> = targets
                .iter()
                .zip(results.iter_mut())
                .filter(|(target, _)| target.platform.provider() == PushProvider::Apns)
                .map(|(_, result)| &mut result.outcome)
                .collect();
            settle_bad_device_tokens(&mut apple);
            log_summary(&results, started.elapsed());
            (results, latencies)
        }
        .instrument(span)
        .await
    }

    /// A sender for each provider some target needs: a batch ready to push,
    /// or the outcome every one of its targets gets without a request
    /// (missing credentials, no token in time).
    async fn senders<'a>(
        &'a self,
        tenant: &'a TenantPush,
        encoded: &'a EncodedNotification,
        targets: &[Target],
        deadline: Option<Instant>,
    ) -> Senders<'a> {
        let wants = |provider| targets.iter().any(|t| t.platform.provider() == provider);
        let refused_or = |prepared| match prepared {
            Ok(sender) => sender,
            Err(outcome) => Sender::Refused(outcome),
        };
        let apns = wants(PushProvider::Apns).then(|| {
            refused_or(
                self.apns
                    .prepare(&self.transport, tenant, &encoded.apns)
                    .map(Sender::Apns),
            )
        });
        let fcm = match wants(PushProvider::Fcm) {
            false => None,
            true => Some(
                match within(
                    deadline,
                    self.fcm.prepare(&self.transport, tenant, &encoded.fcm),
                )
                .await
                {
                    Some(prepared) => refused_or(prepared.map(Sender::Fcm)),
                    None => Sender::Refused(transient(DEADLINE_REACHED)),
                },
            ),
        };
        let web_push = wants(PushProvider::WebPush).then(|| {
            refused_or(
                self.web_push
                    .prepare(&self.transport, tenant, &encoded.web_push)
                    .map(Sender::WebPush),
            )
        });
        Senders {
            apns,
            fcm,
            web_push,
        }
    }

    /// Every target's push, at most `max_in_flight` at once.
    async fn push_all(
        &self,
        senders: &Senders<'_>,
        targets: &[Target],
        deadline: Option<Instant>,
    ) -> (Vec<TargetResult>, Vec<Option<Duration>>) {
        let mut results = vec![
            TargetResult {
                outcome: DeliveryOutcome::Failed("not attempted".into()),
                attempts: 0,
                retry_after: None,
            };
            targets.len()
        ];
        let mut latencies = vec![None; targets.len()];
        // Futures are made as slots free up, not all up front: each is
        // large (it holds a whole HTTP/2 exchange), and a batch of 50,000
        // made at once cost 100 MB and its copying dominated the CPU
        // profile. (A lazy stream adapter's closure, held across the awaits,
        // would make callers' futures fail `Send`: rustc #64552.)
        let limit = self.config.max_in_flight.max(1);
        let mut pending = targets
            .iter()
            .enumerate()
            .filter_map(|(index, target)| Some((index, senders.for_target(target)?, target)));
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < limit {
                let Some((index, sender, target)) = pending.next() else {
                    break;
                };
                running.push(self.push_indexed(index, sender, target, deadline));
            }
            let Some((index, (result, latency))) = running.next().await else {
                break;
            };
            results[index] = result;
            latencies[index] = latency;
        }
        (results, latencies)
    }

    async fn push_indexed(
        &self,
        index: usize,
        sender: &Sender<'_>,
        target: &Target,
        deadline: Option<Instant>,
    ) -> (usize, (TargetResult, Option<Duration>)) {
        (index, self.push_one(sender, target, deadline).await)
    }

    /// The target's result, and its final request's latency.
    async fn push_one(
        &self,
        sender: &Sender<'_>,
        target: &Target,
        deadline: Option<Instant>,
    ) -> (TargetResult, Option<Duration>) {
        if let Sender::Refused(outcome) = sender {
            let result = TargetResult {
                outcome: outcome.clone(),
                attempts: 0,
                retry_after: None,
            };
            return (result, None);
        }
        let started = Instant::now();
        let mut attempts = 0;
        let mut latency = None;
        loop {
            let cut_short = |attempts| TargetResult {
                outcome: transient(DEADLINE_REACHED),
                attempts,
                retry_after: None,
            };
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return (cut_short(attempts), latency);
            }
            attempts += 1;
            let sent_at = Instant::now();
            let Some(Attempt {
                outcome,
                retry_after,
                requested,
            }) = within(deadline, sender.attempt(target, attempts)).await
            else {
                // Cut short: the provider may or may not have it.
                return (cut_short(attempts), Some(sent_at.elapsed()));
            };
            latency = requested.then(|| sent_at.elapsed()).or(latency);
            if let DeliveryOutcome::Transient(reason) = &outcome {
                let delay = self
                    .config
                    .retry
                    .next_delay(attempts, started.elapsed(), retry_after)
                    .filter(|delay| {
                        deadline.is_none_or(|deadline| {
                            Instant::now()
                                .checked_add(*delay)
                                .is_some_and(|resume| resume < deadline)
                        })
                    });
                tracing::debug!(attempt = attempts, reason = %reason, retry_in = ?delay, "transient push failure");
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                    continue;
                }
            }
            // A wait too long for this delivery goes with the result.
            let retry_after =
                retry_after.filter(|_| matches!(outcome, DeliveryOutcome::Transient(_)));
            let result = TargetResult {
                outcome,
                attempts,
                retry_after,
            };
            return (result, latency);
        }
    }
}

/// The reason of a push the deadline cut short or kept from starting.
pub const DEADLINE_REACHED: &str = "deadline reached before the provider answered";

/// `work`'s output, or `None` when `deadline` comes first.
async fn within<F: std::future::Future>(deadline: Option<Instant>, work: F) -> Option<F::Output> {
    match deadline {
        None => Some(work.await),
        Some(deadline) => tokio::time::timeout_at(deadline.into(), work).await.ok(),
    }
}

fn log_summary(results: &[TargetResult], elapsed: Duration) {
    let (mut delivered, mut dead, mut transient, mut failed) = (0, 0, 0, 0);
    for result in results {
        match &result.outcome {
            DeliveryOutcome::Delivered => delivered += 1,
            DeliveryOutcome::DeadToken(_) => dead += 1,
            DeliveryOutcome::Transient(_) => transient += 1,
            DeliveryOutcome::Failed(_) => failed += 1,
        }
    }
    tracing::info!(
        delivered,
        dead_tokens = dead,
        transient,
        failed,
        elapsed_ms = elapsed.as_millis() as u64,
        "delivery finished"
    );
}
