from enum import StrEnum


class TokenTypeType0(StrEnum):
    COMPLICATION = "complication"
    DEVICE = "device"
    FILEPROVIDER = "fileprovider"
    LIVEACTIVITY = "liveactivity"
    LOCATION = "location"
    PUSHTOTALK = "pushtotalk"
    PUSH_TO_START = "push_to_start"
    VOIP = "voip"
    WIDGETS = "widgets"

    def __str__(self) -> str:
        return str(self.value)
