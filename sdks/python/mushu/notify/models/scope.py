from enum import StrEnum


class Scope(StrEnum):
    DEVICES = "devices"
    REGISTER = "register"
    SEND = "send"

    def __str__(self) -> str:
        return str(self.value)
