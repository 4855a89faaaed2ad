//! The results' `cursor`: where the next page starts. Opaque to clients
//! (base64url of `chunk.user` or `chunk.user.digest`), checked strictly:
//! anything this endpoint did not write is a 400 naming `cursor`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{Error, Result};

/// A place in a batch's results: chunk `chunk`, its users from position
/// `user` on, and of that user only the device rows whose token digest
/// sorts after `after` (all of them when `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Position {
    pub chunk: u32,
    pub user: u32,
    pub after: Option<String>,
}

/// Longer than any cursor this endpoint writes.
const MAX_CURSOR_CHARS: usize = 64;
const DIGEST_CHARS: usize = 16;

fn invalid() -> Error {
    Error::invalid_request(
        "`cursor` is not a cursor of this batch's results: pass `next_cursor` as it came",
    )
}

impl Position {
    /// The start of chunk `chunk`.
    pub fn chunk_start(chunk: u32) -> Self {
        Self {
            chunk,
            ..Self::default()
        }
    }

    pub fn encode(&self) -> String {
        let text = match &self.after {
            Some(digest) => format!("{}.{}.{digest}", self.chunk, self.user),
            None => format!("{}.{}", self.chunk, self.user),
        };
        URL_SAFE_NO_PAD.encode(text)
    }

    /// The position a cursor names; 400 naming `cursor` for anything else.
    pub fn decode(cursor: &str) -> Result<Self> {
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_CHARS {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut fields = text.split('.');
        let (Some(chunk), Some(user)) = (fields.next(), fields.next()) else {
            return Err(invalid());
        };
        let after = fields.next().map(str::to_owned);
        let position = Self {
            chunk: number(chunk)?,
            user: number(user)?,
            after,
        };
        let digest_ok = position.after.as_deref().is_none_or(|digest| {
            digest.len() == DIGEST_CHARS
                && digest
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        // One spelling per position: what `encode` writes, nothing else.
        if fields.next().is_some() || !digest_ok || position.encode() != cursor {
            return Err(invalid());
        }
        Ok(position)
    }
}

/// A position's number: decimal digits without a sign or leading zeros.
fn number(text: &str) -> Result<u32> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    match canonical {
        true => text.parse().map_err(|_| invalid()),
        false => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_their_cursor() {
        for position in [
            Position::chunk_start(0),
            Position {
                chunk: 19,
                user: 499,
                after: Some("0123456789abcdef".to_owned()),
            },
            Position {
                chunk: u32::MAX,
                user: u32::MAX,
                after: None,
            },
        ] {
            let cursor = position.encode();
            assert!(cursor.len() <= MAX_CURSOR_CHARS);
            assert_eq!(Position::decode(&cursor).ok(), Some(position));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let encoded = |text: &str| URL_SAFE_NO_PAD.encode(text);
        for cursor in [
            String::new(),
            "not base64!".to_owned(),
            "MS4y=".to_owned(),
            encoded("1"),
            encoded("1.2.3.4"),
            encoded("01.2"),
            encoded("+1.2"),
            encoded("-1.2"),
            encoded("1. 2"),
            encoded("1.4294967296"),
            encoded("1.2.0123456789ABCDEF"),
            encoded("1.2.0123456789abcde"),
            encoded("1.2."),
            "A".repeat(100),
        ] {
            let err = Position::decode(&cursor).err();
            assert!(
                matches!(&err, Some(Error::BadRequest { detail, .. }) if detail.contains("`cursor`")),
                "{cursor}: {err:?}"
            );
        }
    }
}
