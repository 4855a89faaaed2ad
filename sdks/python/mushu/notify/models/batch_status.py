from enum import StrEnum


class BatchStatus(StrEnum):
    CANCELLED = "cancelled"
    DELIVERING = "delivering"
    DONE = "done"
    QUEUED = "queued"
    SCHEDULED = "scheduled"

    def __str__(self) -> str:
        return str(self.value)
