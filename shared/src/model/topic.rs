//! Topic names (placeholder until the topics branch merges: its file wins).

use crate::error::{Error, Result};

pub const MAX_TOPIC_CHARS: usize = 100;

pub fn validate_topic(topic: &str) -> Result<()> {
    let valid = !topic.is_empty()
        && topic.len() <= MAX_TOPIC_CHARS
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_request(
            "`topic` must be 1 to 100 characters of A-Z, a-z, 0-9, `_`, `.` and `-`",
        ))
    }
}
