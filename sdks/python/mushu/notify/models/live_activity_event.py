from enum import StrEnum


class LiveActivityEvent(StrEnum):
    END = "end"
    START = "start"
    UPDATE = "update"

    def __str__(self) -> str:
        return str(self.value)
