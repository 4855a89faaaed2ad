//! Business rules behind the endpoints. Handlers parse, authorise and call
//! these; these call the store, Secrets Manager and the providers.

pub mod api_keys;
pub mod bulk;
pub mod delivery;
pub mod devices;
pub mod idempotency;
pub mod queue_schema;
pub mod sending;
pub mod tenants;
pub mod topics;
pub mod usage;
pub mod user_verification;
pub mod webhooks;
pub mod worker;
