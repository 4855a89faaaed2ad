//! The contract's resources as Rust types: what requests carry and responses show.

pub mod api_key;
pub mod audience;
pub mod batch;
pub mod bulk_results;
pub mod device;
pub mod live_activity;
pub mod notification;
pub mod platform;
pub mod push_type;
pub mod queue;
pub mod sqs_text;
pub mod tenant;
pub mod tenant_limits;
pub mod topic;
pub mod usage;
pub mod webhook;
pub mod whole_number;

pub use api_key::{ApiKey, ApiKeyGrant, ApiKeyList, CreateApiKeyRequest, CreatedApiKey, Scope};
pub use audience::{Audience, AudienceSource};
pub use batch::{
    Batch, BatchState, BatchStatus, BulkNotificationRequest, BulkNotificationResponse, BulkStatus,
    BulkTarget, ChunkCounts, ChunkProgress, ProgressUpdate, UserOutcome,
};
pub use bulk_results::{BulkResult, BulkResultList, ChunkResults, DeviceRecord, ResultOutcome};
pub use device::{Device, DeviceDeleted, DeviceList, DeviceRegistration, RegisterDeviceRequest};
pub use live_activity::{LiveActivity, LiveActivityEvent};
pub use notification::{Alert, Notification, Priority, WithNotification};
pub use platform::{Platform, PushProvider};
pub use push_type::{PushType, TokenType};
pub use queue::{DeliverChunk, QueueMessage, ReadAudience};
pub use tenant::{CreateTenantRequest, Tenant, TenantList, UpdateTenantRequest, WebPushSettings};
pub use tenant_limits::{EffectiveLimits, TenantLimits};
pub use topic::{
    TopicList, TopicSubscribed, TopicSubscribersRequest, TopicUnsubscribed, MAX_TOPICS_PER_USER,
};
pub use usage::{KeyUsage, TenantUsage, UsageBucket};
pub use webhook::{
    CreateWebhookRequest, CreatedWebhook, EventType, Webhook, WebhookAttempt, WebhookDeleted,
    WebhookDeliveryList, WebhookList,
};
