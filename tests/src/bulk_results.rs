//! Reading a bulk batch's per-device results on a [`BulkRig`]: one page, or
//! every page following `next_cursor`.

use serde_json::Value;

use crate::delivery::BulkRig;
use crate::{call, parts, Call};

/// Pages read at most by [`BulkRig::all_results`] before it gives up: a
/// cursor that never ends is a bug to report, not to loop on.
const MAX_PAGES: usize = 1000;

impl BulkRig {
    /// `GET .../notify/bulk/{batch_id}/results?{query}` on the rig's tenant,
    /// with credentials set by `auth`.
    pub async fn results_as(
        &self,
        batch_id: &str,
        query: &[(&str, &str)],
        auth: impl FnOnce(Call) -> Call,
    ) -> (u16, Value) {
        let mut request = call("GET", "/tenants/{tenant_id}/notify/bulk/{batch_id}/results")
            .param("tenant_id", &self.tenant_id)
            .param("batch_id", batch_id);
        for (name, value) in query {
            request = request.query(name, value);
        }
        let request = auth(request).build();
        parts(&notify_bulk_results::handle(&self.env.app, request).await)
    }

    /// Every row of the batch's results, page after page of at most
    /// `limit` rows (each page checked to hold no more), with `query`'s
    /// other parameters (e.g. `outcome`).
    pub async fn all_results(
        &self,
        batch_id: &str,
        limit: usize,
        query: &[(&str, &str)],
        auth: impl Fn(Call) -> Call,
    ) -> Vec<Value> {
        let limit_text = limit.to_string();
        let mut rows = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params: Vec<(&str, &str)> = query.to_vec();
            params.push(("limit", &limit_text));
            if let Some(cursor) = cursor.as_deref() {
                params.push(("cursor", cursor));
            }
            let (status, page) = self.results_as(batch_id, &params, &auth).await;
            assert_eq!(status, 200, "{page}");
            let results = page["results"].as_array().cloned().unwrap_or_default();
            assert!(results.len() <= limit, "{page}");
            rows.extend(results);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => {
                    assert!(page["next_cursor"].is_null(), "{page}");
                    return rows;
                }
            }
        }
        panic!("the results did not end within {MAX_PAGES} pages");
    }
}
