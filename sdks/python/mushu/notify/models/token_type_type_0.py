from enum import StrEnum


class TokenTypeType0(StrEnum):
    DEVICE = "device"
    LIVEACTIVITY = "liveactivity"
    PUSH_TO_START = "push_to_start"

    def __str__(self) -> str:
        return str(self.value)
