//! The bulk planner: every accepted user in exactly one chunk, in order;
//! every chunk and every `SendMessageBatch` call under SQS's limits.

use proptest::prelude::*;

use crate::model::{Alert, Notification, QueueMessage};
use crate::service::bulk::{
    plan_calls, plan_chunks, recipients, MAX_MESSAGE_BYTES, MAX_SEND_BATCH_BYTES,
    MAX_USERS_PER_CHUNK, SEND_BATCH_ENTRIES,
};

fn user_ids() -> impl Strategy<Value = Vec<String>> {
    let id = prop_oneof![
        "[a-z0-9-]{1,12}",
        "\\PC{1,256}",
        "[\"\\\\/é😀 a-z]{200,256}",
        Just(String::new()),
        "[a-z]{0,3}\n[a-z]{0,3}",
    ];
    proptest::collection::vec(id, 1..1500)
}

fn notification(body: String) -> Notification {
    Notification {
        alert: Some(Alert {
            title: Some("Sale".to_owned()),
            subtitle: None,
            body: Some(body),
        }),
        ..Notification::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_accepted_user_is_in_exactly_one_chunk_and_every_chunk_fits_sqs(
        ids in user_ids(),
        body in "[a-z ]{0,3000}",
    ) {
        let Ok(accepted) = recipients(ids.clone()) else {
            // Refused only when no id is valid.
            prop_assert!(ids.iter().all(|id| crate::model::device::validate_user_id(id).is_err()));
            return Ok(());
        };
        prop_assert!(accepted.accepted.len() <= ids.len());
        let bodies = plan_chunks(
            "tnt_4fG7hK2mN9pQ3rS5tV8w",
            "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
            accepted.accepted.clone(),
            &notification(body),
            0,
        );
        let bodies = match bodies {
            Ok(bodies) => bodies,
            Err(err) => {
                prop_assert_eq!(err.status().as_u16(), 413);
                return Ok(());
            }
        };
        let mut planned = Vec::new();
        for (index, text) in bodies.iter().enumerate() {
            prop_assert!(text.len() <= MAX_MESSAGE_BYTES, "chunk {index}: {} bytes", text.len());
            let Ok(QueueMessage::Deliver(chunk)) = QueueMessage::from_body(text) else {
                return Err(TestCaseError::fail(format!("chunk {index} does not parse")));
            };
            prop_assert_eq!(chunk.chunk as usize, index);
            prop_assert!(!chunk.user_ids.is_empty() && chunk.user_ids.len() <= MAX_USERS_PER_CHUNK);
            planned.extend(chunk.user_ids);
        }
        prop_assert_eq!(&planned, &accepted.accepted);

        let calls = plan_calls(&bodies);
        let flat: Vec<usize> = calls.iter().flatten().copied().collect();
        prop_assert_eq!(flat, (0..bodies.len()).collect::<Vec<_>>());
        for call in &calls {
            prop_assert!(!call.is_empty() && call.len() <= SEND_BATCH_ENTRIES);
            let size: usize = call.iter().map(|&i| bodies[i].len()).sum();
            prop_assert!(size <= MAX_SEND_BATCH_BYTES, "a call of {size} bytes");
        }
    }
}
