//! Every integration test of the workspace in one binary: one link instead
//! of one per file, which dominates a build on two cores. Each module is
//! the suite of one area; `smoke` (ignored here) runs against the local
//! stack, from `scripts/test`.

mod api_keys;
mod apns_connections;
mod apns_push_types;
mod audience;
mod bad_input;
mod bulk;
mod bulk_results;
mod bulk_usage;
mod conflicts;
mod consistency;
mod devices;
mod expiry;
mod fcm_rules;
mod hardening;
mod headers;
mod iam;
mod idempotency_retries;
mod metrics;
mod oidc;
mod permissions;
mod purge;
mod rate_limits;
mod register_scope;
mod register_verification;
mod routes;
mod schedules;
mod send;
mod smoke;
mod sqs_text;
mod stored_data;
mod template_rules;
mod tenant_isolation;
mod tenant_limits;
mod tenant_quota;
mod tenants;
mod token_types;
mod topics;
mod user_tokens_template;
mod webhooks;
mod webpush;
mod webpush_size;
mod worker;
mod worker_memory;
