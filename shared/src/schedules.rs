//! Placeholder until the `sched` branch merges (its file wins).

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct Schedules;

pub fn schedule_name(batch_id: &str) -> String {
    format!("notify-{batch_id}")
}

impl Schedules {
    pub async fn create_once(&self, _name: &str, _at: i64, _body: &str) -> Result<()> {
        Err(Error::internal("scheduling", "not merged"))
    }
    pub async fn delete(&self, _name: &str) -> Result<()> {
        Ok(())
    }
}
