//! Text that an SQS message can carry. SQS refuses a message holding any
//! other character (`InvalidMessageContents`): "#x9 | #xA | #xD | #x20 to
//! #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>),
//! and serde_json writes U+FFFE, U+FFFF and DEL..U+009F as they are. A bulk
//! send's text travels in queue messages, so such text is refused at the
//! request (400 naming the field), single sends alike: one rule for both.
//! The local emulator checks none of this.

use serde_json::Value;

/// Whether SQS accepts `c` in a message body. Rust strings hold no
/// surrogates, so of the excluded ranges only the C0 controls (but tab, line
/// feed and carriage return), U+FFFE and U+FFFF can occur.
pub fn is_sqs_char(c: char) -> bool {
    matches!(u32::from(c), 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

pub fn is_sqs_text(text: &str) -> bool {
    text.chars().all(is_sqs_char)
}

/// What a 400 says about such text, after the field's name.
pub const UNSENDABLE: &str = "holds a character that cannot be sent (U+FFFE, U+FFFF, or a \
                              control character other than tab, line feed and carriage return)";

/// The field (`` `alert.title` ``, `` `data.k` ``,
/// `` `live_activity.content_state.items[2]` ``, or `` a key of `data` ``)
/// of the first string or object key in `value` that SQS cannot carry.
pub fn unsendable_path(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(text) => (!is_sqs_text(text)).then(|| format!("`{path}`")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| unsendable_path(item, &format!("{path}[{index}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            if !is_sqs_text(key) {
                return Some(if path.is_empty() {
                    "a key".to_owned()
                } else {
                    format!("a key of `{path}`")
                });
            }
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            unsendable_path(item, &inner)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqs_takes_exactly_its_documented_characters() {
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            'é',
            '\u{D7FF}',
            '\u{E000}',
            '\u{FFFD}',
            '\u{10000}',
            '\u{10FFFF}',
            '\u{7F}',
        ] {
            assert!(is_sqs_char(c), "{c:?}");
        }
        for c in [
            '\u{0}', '\u{1}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}',
        ] {
            assert!(!is_sqs_char(c), "{c:?}");
        }
    }

    #[test]
    fn the_path_of_the_first_unsendable_text_is_named() {
        let value = json!({"alert": {"title": "ok", "body": "b\u{FFFF}"}});
        assert_eq!(unsendable_path(&value, "").as_deref(), Some("`alert.body`"));
        let value = json!({"data": {"list": ["a", "\u{FFFE}"]}});
        assert_eq!(
            unsendable_path(&value, "").as_deref(),
            Some("`data.list[1]`")
        );
        let value = json!({"data": {"k\u{1}": 1}});
        assert_eq!(
            unsendable_path(&value, "").as_deref(),
            Some("a key of `data`")
        );
        assert_eq!(unsendable_path(&json!({"sound": "ping\n"}), ""), None);
    }
}
