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

/// What the attribute adds to a message's size, which SQS counts against
/// its limits with the body: name, data type and value, with room to spare.
pub const ATTRIBUTE_BYTES: usize = 64;

/// The attribute every message this build writes carries.
pub fn schema_attribute() -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(SCHEMA_VERSION.to_string())
        .build()
        .map_err(|err| Error::internal("building the queue schema attribute", err))
}
