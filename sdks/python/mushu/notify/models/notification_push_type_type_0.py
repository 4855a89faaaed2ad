from enum import StrEnum


class NotificationPushTypeType0(StrEnum):
    ALERT = "alert"
    BACKGROUND = "background"
    COMPLICATION = "complication"
    FILEPROVIDER = "fileprovider"
    LIVEACTIVITY = "liveactivity"
    LOCATION = "location"
    PUSHTOTALK = "pushtotalk"
    VOIP = "voip"
    WIDGETS = "widgets"

    def __str__(self) -> str:
        return str(self.value)
