from enum import StrEnum


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    MACOS = "macos"
    WATCHOS = "watchos"
    WEB = "web"
    WEBPUSH = "webpush"

    def __str__(self) -> str:
        return str(self.value)
