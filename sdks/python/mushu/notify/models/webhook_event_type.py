from enum import StrEnum


class WebhookEventType(StrEnum):
    BATCH_COMPLETED = "batch.completed"
    CREDENTIALS_FAILED = "credentials.failed"
    DEVICES_REMOVED = "devices.removed"
    KEY_UNUSUAL_ACTIVITY = "key.unusual_activity"

    def __str__(self) -> str:
        return str(self.value)
