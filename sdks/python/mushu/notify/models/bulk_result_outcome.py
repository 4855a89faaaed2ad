from enum import StrEnum


class BulkResultOutcome(StrEnum):
    DELIVERED = "delivered"
    FAILED = "failed"
    NO_DEVICES = "no_devices"
    REMOVED = "removed"

    def __str__(self) -> str:
        return str(self.value)
