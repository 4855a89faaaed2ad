//! The schema version of a delivery-queue message travels as the message
//! attribute [`SCHEMA_ATTRIBUTE`], not in the body: a worker built before
//! versions existed refuses any body field it does not know (it would move
//! a body carrying `v` to the dead-letter queue), and ignores attributes.
//! So writers and the worker can be deployed in either order from the
//! first versioned release on (see `model::queue`).

use aws_sdk_sqs::types::MessageAttributeValue;

use crate::error::{Error, Result};
use crate::model::queue::SCHEMA_VERSION;

/// The message attribute naming the body's schema version (absent: 1).
pub const SCHEMA_ATTRIBUTE: &str = "notify_schema";

/// The message attribute naming the API key that enqueued a bulk chunk:
/// the worker counts the chunk's pushes in that key's usage (a worker
/// that predates it ignores it, as every attribute).
pub const KEY_ATTRIBUTE: &str = "notify_key_id";

/// What the attributes add to a message's size, which SQS counts against
/// its limits with the body: names, data types and values (the schema's
/// and a key id's), with room to spare.
pub const ATTRIBUTE_BYTES: usize = 160;

/// The attribute every message this build writes carries.
pub fn schema_attribute() -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(SCHEMA_VERSION.to_string())
        .build()
        .map_err(|err| Error::internal("building the queue schema attribute", err))
}

/// The attribute naming the key `key_id` that enqueued a message.
pub fn key_attribute(key_id: &str) -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(key_id)
        .build()
        .map_err(|err| Error::internal("building the queue key attribute", err))
}
