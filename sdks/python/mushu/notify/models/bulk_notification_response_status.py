from enum import StrEnum


class BulkNotificationResponseStatus(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"

    def __str__(self) -> str:
        return str(self.value)
