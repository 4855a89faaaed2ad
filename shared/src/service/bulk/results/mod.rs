//! `GET /tenants/{tenant_id}/notify/bulk/{batch_id}/results`: every device
//! a batch reached with its final outcome, and every user without devices,
//! a page at a time.
//!
//! Rows come chunk by chunk (`0..batch.chunks`), users in their order in
//! the chunk, a user's device rows in the order of their token digests and
//! then at most one row about the user itself (see [`rows`]). The cursor
//! names the place where the next page starts, so pages neither repeat nor
//! skip rows as more users settle.
//!
//! What the rows are made of, and what that leaves out:
//! * Rows appear as outcomes become final: while the batch is delivering,
//!   a user still in progress has only its final rows so far (a dead token
//!   found in a first attempt), or none. Read after `done` for the whole.
//! * Users rejected at the request (invalid ids) were never in a chunk and
//!   are not listed: the bulk answer's `failed` counts them.
//! * Delivered devices are named from the registry at read time (only
//!   their digests are recorded, see `model::bulk_results`): a device
//!   unregistered between the send and the read is not listed (a user
//!   left with no row gets one without a token), and a device registered
//!   again since under the same token is listed.
//!
//! One page reads at most [`MAX_CHUNKS_PER_PAGE`] chunks' records and
//! [`MAX_LOOKUPS_PER_PAGE`] users' devices; a page that reaches either
//! bound ends early, with a cursor.

mod cursor;
mod rows;

use futures::StreamExt;

use crate::app::App;
use crate::error::{Error, Result};
use crate::model::{BulkResult, BulkResultList, ChunkResults, Device, ResultOutcome, UserOutcome};
use crate::service::sending::shortened_token;
use crate::store::ReadConsistency;

use cursor::Position;
use rows::{user_rows, RowKey};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;
/// Chunks whose records one page reads at most (one query each).
pub const MAX_CHUNKS_PER_PAGE: u32 = 20;
/// Users whose devices one page reads at most (one query each).
pub const MAX_LOOKUPS_PER_PAGE: usize = 1000;
/// Users whose devices are read at once, at most.
const LOOKUP_WINDOW: usize = 32;

/// The query string as it came (`outcome`, `limit`, `cursor`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsQuery {
    pub outcome: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The query, checked: 400 naming the field otherwise.
struct Parsed {
    outcome: Option<ResultOutcome>,
    limit: usize,
    start: Position,
}

impl ResultsQuery {
    fn parse(&self) -> Result<Parsed> {
        let outcome = match self.outcome.as_deref() {
            None => None,
            Some(text) => Some(ResultOutcome::parse(text).ok_or_else(|| {
                Error::invalid_request(
                    "`outcome` must be one of delivered, failed, removed, no_devices",
                )
            })?),
        };
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|limit| {
                    (1..=MAX_LIMIT).contains(limit) && text.bytes().all(|b| b.is_ascii_digit())
                })
                .ok_or_else(|| {
                    Error::invalid_request(format!(
                        "`limit` must be a whole number from 1 to {MAX_LIMIT}"
                    ))
                })?,
        };
        let start = match self.cursor.as_deref() {
            None => Position::default(),
            Some(cursor) => Position::decode(cursor)?,
        };
        Ok(Parsed {
            outcome,
            limit,
            start,
        })
    }
}

/// `GET .../notify/bulk/{batch_id}/results` after authorisation. Tokens
/// are shortened unless `full_tokens` (as single sends shorten them).
pub async fn bulk_results(
    app: &App,
    tenant_id: &str,
    batch_id: &str,
    query: &ResultsQuery,
    full_tokens: bool,
) -> Result<BulkResultList> {
    let parsed = query.parse()?;
    let batch = super::reported_batch(app, tenant_id, batch_id).await?;
    if query.cursor.is_some() && parsed.start.chunk >= batch.chunks {
        return Err(Error::invalid_request(
            "`cursor` is not a cursor of this batch's results: pass `next_cursor` as it came",
        ));
    }
    let mut page = Page {
        app,
        tenant_id,
        outcome: parsed.outcome,
        limit: parsed.limit,
        full_tokens,
        rows: Vec::new(),
        lookups: 0,
    };
    let mut position = parsed.start;
    let mut chunks_read = 0;
    while position.chunk < batch.chunks {
        if chunks_read == MAX_CHUNKS_PER_PAGE {
            return Ok(page.finish(Some(position)));
        }
        let results = app
            .store
            .chunk_results(tenant_id, &batch.batch_id, position.chunk)
            .await?;
        chunks_read += 1;
        if let Some(stop) = page.fill(&results, &position).await? {
            return Ok(page.finish(Some(stop)));
        }
        position = Position::chunk_start(position.chunk.saturating_add(1));
    }
    Ok(page.finish(None))
}

/// One page being filled.
struct Page<'a> {
    app: &'a App,
    tenant_id: &'a str,
    outcome: Option<ResultOutcome>,
    limit: usize,
    full_tokens: bool,
    rows: Vec<BulkResult>,
    lookups: usize,
}

impl Page<'_> {
    /// Adds chunk `from.chunk`'s rows from `from` on; `Some(place)` when
    /// the page is full (or out of reads) and the next one starts there.
    async fn fill(&mut self, results: &ChunkResults, from: &Position) -> Result<Option<Position>> {
        let users: Vec<(u32, &str)> = results
            .user_ids
            .range(from.user..)
            .map(|(index, id)| (*index, id.as_str()))
            .collect();
        let mut rest = users.as_slice();
        while !rest.is_empty() {
            // No more users' devices read at once than rows still wanted.
            let wanted = self.limit.saturating_sub(self.rows.len());
            let (window, after) = rest.split_at(wanted.clamp(1, LOOKUP_WINDOW).min(rest.len()));
            rest = after;
            let Some(&(first, _)) = window.first() else {
                break;
            };
            if self.lookups >= MAX_LOOKUPS_PER_PAGE {
                return Ok(Some(resume_at(from, first)));
            }
            let registry = self.registry(results, window).await?;
            for (&(index, user_id), devices) in window.iter().zip(registry) {
                let after = (index == from.user)
                    .then_some(from.after.as_deref())
                    .flatten();
                for (key, row) in user_rows(results, index, user_id, devices.as_deref()) {
                    if !key.after(after) || self.outcome.is_some_and(|wanted| row.outcome != wanted)
                    {
                        continue;
                    }
                    self.push(row);
                    if self.rows.len() >= self.limit {
                        return Ok(Some(next_after(from.chunk, index, key)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The devices of the window's users that may have delivered rows:
    /// read only when delivered rows are wanted, the chunk has some, and
    /// the user had devices.
    async fn registry(
        &mut self,
        results: &ChunkResults,
        window: &[(u32, &str)],
    ) -> Result<Vec<Option<Vec<Device>>>> {
        let wanted = self.outcome.is_none_or(|o| o == ResultOutcome::Delivered)
            && !results.delivered.is_empty();
        let (store, tenant_id) = (&self.app.store, self.tenant_id);
        // Owned ids: a closure over borrowed ones would make the future !Send.
        let to_read: Vec<Option<String>> = window
            .iter()
            .map(|&(index, user_id)| {
                let read = wanted && results.settled.get(&index) != Some(&UserOutcome::NoDevices);
                read.then(|| user_id.to_owned())
            })
            .collect();
        let reads = to_read.into_iter().map(|user_id| async move {
            match user_id {
                Some(user_id) => store
                    .list_devices(tenant_id, &user_id, ReadConsistency::Eventual)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        });
        let found: Vec<Option<Vec<Device>>> = futures::stream::iter(reads)
            .buffered(LOOKUP_WINDOW)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        self.lookups += found.iter().filter(|devices| devices.is_some()).count();
        Ok(found)
    }

    fn push(&mut self, mut row: BulkResult) {
        if !self.full_tokens {
            row.token = row.token.as_deref().map(shortened_token);
        }
        self.rows.push(row);
    }

    fn finish(self, next: Option<Position>) -> BulkResultList {
        BulkResultList {
            results: self.rows,
            next_cursor: next.map(|position| position.encode()),
        }
    }
}

/// Where to resume in `from`'s chunk at user `index`: from its first row,
/// or after the rows already read when it is `from`'s own user.
fn resume_at(from: &Position, index: u32) -> Position {
    match index == from.user {
        true => from.clone(),
        false => Position {
            chunk: from.chunk,
            user: index,
            after: None,
        },
    }
}

/// The place right after row `key` of user `index`.
fn next_after(chunk: u32, index: u32, key: RowKey) -> Position {
    match key {
        RowKey::Device(digest) => Position {
            chunk,
            user: index,
            after: Some(digest),
        },
        // The user's last row.
        RowKey::User => Position {
            chunk,
            user: index.saturating_add(1),
            after: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(outcome: Option<&str>, limit: Option<&str>, cursor: Option<&str>) -> ResultsQuery {
        ResultsQuery {
            outcome: outcome.map(str::to_owned),
            limit: limit.map(str::to_owned),
            cursor: cursor.map(str::to_owned),
        }
    }

    fn refused_naming(query: ResultsQuery, field: &str) {
        let err = query.parse().err();
        assert!(
            matches!(&err, Some(Error::BadRequest { detail, .. }) if detail.contains(&format!("`{field}`"))),
            "{query:?}: {err:?}"
        );
    }

    #[test]
    fn the_query_is_checked_field_by_field() {
        let parsed = query(None, None, None).parse().ok();
        assert_eq!(parsed.as_ref().map(|p| p.limit), Some(DEFAULT_LIMIT));
        let parsed = query(Some("removed"), Some("1000"), None).parse().ok();
        assert_eq!(
            parsed.as_ref().and_then(|p| p.outcome),
            Some(ResultOutcome::Removed)
        );
        for outcome in ["", "success", "DELIVERED"] {
            refused_naming(query(Some(outcome), None, None), "outcome");
        }
        for limit in [
            "0",
            "1001",
            "-1",
            "+5",
            "ten",
            "",
            "1e2",
            "99999999999999999999",
        ] {
            refused_naming(query(None, Some(limit), None), "limit");
        }
        refused_naming(query(None, None, Some("nope")), "cursor");
    }

    #[test]
    fn a_full_page_resumes_after_its_last_row() {
        let digest = "00000000000000aa".to_owned();
        assert_eq!(
            next_after(2, 7, RowKey::Device(digest.clone())),
            Position {
                chunk: 2,
                user: 7,
                after: Some(digest.clone())
            }
        );
        assert_eq!(
            next_after(2, 7, RowKey::User),
            Position {
                chunk: 2,
                user: 8,
                after: None
            }
        );
        let from = Position {
            chunk: 2,
            user: 7,
            after: Some(digest),
        };
        assert_eq!(resume_at(&from, 7), from);
        assert_eq!(
            resume_at(&from, 9),
            Position {
                chunk: 2,
                user: 9,
                after: None
            }
        );
    }
}
