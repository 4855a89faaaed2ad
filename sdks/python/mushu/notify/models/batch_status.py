from enum import StrEnum


class BatchStatus(StrEnum):
    DELIVERING = "delivering"
    DONE = "done"
    QUEUED = "queued"

    def __str__(self) -> str:
        return str(self.value)
