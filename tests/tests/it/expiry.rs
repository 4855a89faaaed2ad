//! Expiry without DynamoDB's TTL (AWS audit finding 15): TTL deletes expired
//! items "typically within a few days" and reads return them until then
//! (moto never deletes them). What has an `expires_at` is gone from the
//! API's answers the moment it passes, whatever the table still holds.

use aws_sdk_dynamodb::types::AttributeValue;
use notify_tests::delivery::BulkRig;
use serde_json::json;

#[tokio::test]
async fn a_batch_past_its_expiry_answers_404_though_ttl_has_not_deleted_it() {
    let rig = BulkRig::start().await;
    let (status, answer) = rig
        .bulk(json!({"user_ids": ["u1", "u2"], "alert": {"title": "Hi"}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let batch_id = answer["batch_id"].as_str().unwrap_or_default().to_owned();
    let (status, body) = rig.status(&batch_id).await;
    assert_eq!(status, 200, "{body}");

    // What the table holds seven days later, before TTL gets to it.
    let yesterday = chrono::Utc::now().timestamp() - 86_400;
    rig.env
        .dynamodb
        .update_item()
        .table_name(&rig.env.table)
        .key("PK", AttributeValue::S(format!("TENANT#{}", rig.tenant_id)))
        .key("SK", AttributeValue::S(format!("BATCH#{batch_id}")))
        .update_expression("SET expires_at = :past")
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":past", AttributeValue::N(yesterday.to_string()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("ageing the batch: {err}"));

    let (status, body) = rig.status(&batch_id).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["code"], "not_found", "{body}");
}
