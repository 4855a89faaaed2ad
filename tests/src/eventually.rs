//! DynamoDB's global secondary indexes are eventually consistent: a query
//! right after a write may miss it, or still show a deleted item ("Queries
//! on global secondary indexes support eventual consistency only",
//! https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html).
//! moto's are immediate. A test that reads an index (the tenant list reads
//! GSI1) right after a write polls until the answer it expects comes, so it
//! holds against AWS too.

use std::future::Future;
use std::time::Duration;

/// How long an index may lag in a test before it counts as wrong.
pub const INDEX_LAG: Duration = Duration::from_secs(10);

/// Calls `attempt` until it returns `Ok`, for at most [`INDEX_LAG`]; panics
/// with the last `Err` (a description of what was seen instead).
pub async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + INDEX_LAG;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(seen) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: still {seen} after {INDEX_LAG:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
