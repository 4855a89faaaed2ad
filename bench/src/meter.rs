//! bench/aws_meter.py's tallies: the AWS calls a metered run made.

use crate::simulator::Admin;

/// Zeroes the meter's tallies.
pub async fn reset(admin: &Admin, meter: &str) -> anyhow::Result<()> {
    admin
        .client()
        .post(format!("{meter}/__meter/reset"))
        .send()
        .await?;
    Ok(())
}

/// The AWS calls the meter counted since its last reset.
pub async fn calls(admin: &Admin, meter: &str) -> anyhow::Result<serde_json::Value> {
    Ok(admin
        .client()
        .get(format!("{meter}/__meter"))
        .send()
        .await?
        .json()
        .await?)
}
