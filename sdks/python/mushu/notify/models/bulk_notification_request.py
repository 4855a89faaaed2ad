from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.notification_priority_type_0 import NotificationPriorityType0
from ..models.notification_push_type_type_0 import NotificationPushTypeType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.alert import Alert
    from ..models.live_activity import LiveActivity


T = TypeVar("T", bound="BulkNotificationRequest")


@_attrs_define
class BulkNotificationRequest:
    """The notification fields beside exactly one audience: `user_ids` (up to 10,000 users), `topic` (every subscribed
    user) or `all_users` (every user with a device); optionally `send_at`.

        Attributes:
            alert (Alert | None | Unset):
            badge (int | None | Unset):
            category (None | str | Unset):
            collapse_id (None | str | Unset): 1 to 64 printable ASCII characters (it travels as the `apns-collapse-id`
                header).
            content_available (bool | None | Unset): A silent/background push.
            data (Any | Unset): Custom keys for the app. Not allowed: `aps` (APNs), and `from`, `notification`,
                `message_type` or keys starting with `google` or `gcm`, in any case (FCM).
            live_activity (LiveActivity | None | Unset):
            mutable_content (bool | None | Unset):
            priority (None | NotificationPriorityType0 | Unset):
            push_type (None | NotificationPushTypeType0 | Unset): Apple's `apns-push-type`. Absent: `liveactivity` with
                `live_activity`, `alert` with an alert, badge or sound, `background` otherwise. Each goes with Apple's topic
                (the tenant's bundle id, plus `.push-type.liveactivity`, `.voip`, `.location-query`, `.complication`,
                `.pushkit.fileprovider`, `.voip-ptt` or `.push-type.widgets`). Priorities: `background` and `fileprovider` only
                `normal`, `pushtotalk` only `high`, the others either (default `high`; `widgets` `normal`); a named type with
                another is 400 naming `priority`. `background` needs `content_available` and no alert, badge or sound; `voip`,
                `location`, `complication`, `fileprovider`, `pushtotalk` and `widgets` take no alert, badge, sound,
                `content_available` or `mutable_content`, and reach Apple devices only. `mdm` is not offered: it needs an MDM
                push certificate and topic.
            sound (None | str | Unset):
            thread_id (None | str | Unset):
            ttl_seconds (int | None | Unset):
            all_users (bool | Unset): `true`: every user of the tenant with a device.
            send_at (datetime.datetime | Unset): Deliver at this time (RFC 3339, at most 30 days ahead) instead of now: the
                batch is `scheduled` until then, and can be cancelled. A time already past sends now.
            topic (str | Unset): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
            user_ids (list[str] | Unset): Repeats are ignored. Entries that are not valid user ids (1 to 256 characters
                without control characters) are counted in `failed`; at least one must be valid.
    """

    alert: Alert | None | Unset = UNSET
    badge: int | None | Unset = UNSET
    category: None | str | Unset = UNSET
    collapse_id: None | str | Unset = UNSET
    content_available: bool | None | Unset = UNSET
    data: Any | Unset = UNSET
    live_activity: LiveActivity | None | Unset = UNSET
    mutable_content: bool | None | Unset = UNSET
    priority: None | NotificationPriorityType0 | Unset = UNSET
    push_type: None | NotificationPushTypeType0 | Unset = UNSET
    sound: None | str | Unset = UNSET
    thread_id: None | str | Unset = UNSET
    ttl_seconds: int | None | Unset = UNSET
    all_users: bool | Unset = UNSET
    send_at: datetime.datetime | Unset = UNSET
    topic: str | Unset = UNSET
    user_ids: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.alert import Alert
        from ..models.live_activity import LiveActivity

        alert: dict[str, Any] | None | Unset
        if isinstance(self.alert, Unset):
            alert = UNSET
        elif isinstance(self.alert, Alert):
            alert = self.alert.to_dict()
        else:
            alert = self.alert

        badge: int | None | Unset
        if isinstance(self.badge, Unset):
            badge = UNSET
        else:
            badge = self.badge

        category: None | str | Unset
        if isinstance(self.category, Unset):
            category = UNSET
        else:
            category = self.category

        collapse_id: None | str | Unset
        if isinstance(self.collapse_id, Unset):
            collapse_id = UNSET
        else:
            collapse_id = self.collapse_id

        content_available: bool | None | Unset
        if isinstance(self.content_available, Unset):
            content_available = UNSET
        else:
            content_available = self.content_available

        data = self.data

        live_activity: dict[str, Any] | None | Unset
        if isinstance(self.live_activity, Unset):
            live_activity = UNSET
        elif isinstance(self.live_activity, LiveActivity):
            live_activity = self.live_activity.to_dict()
        else:
            live_activity = self.live_activity

        mutable_content: bool | None | Unset
        if isinstance(self.mutable_content, Unset):
            mutable_content = UNSET
        else:
            mutable_content = self.mutable_content

        priority: None | str | Unset
        if isinstance(self.priority, Unset):
            priority = UNSET
        elif isinstance(self.priority, NotificationPriorityType0):
            priority = self.priority.value
        else:
            priority = self.priority

        push_type: None | str | Unset
        if isinstance(self.push_type, Unset):
            push_type = UNSET
        elif isinstance(self.push_type, NotificationPushTypeType0):
            push_type = self.push_type.value
        else:
            push_type = self.push_type

        sound: None | str | Unset
        if isinstance(self.sound, Unset):
            sound = UNSET
        else:
            sound = self.sound

        thread_id: None | str | Unset
        if isinstance(self.thread_id, Unset):
            thread_id = UNSET
        else:
            thread_id = self.thread_id

        ttl_seconds: int | None | Unset
        if isinstance(self.ttl_seconds, Unset):
            ttl_seconds = UNSET
        else:
            ttl_seconds = self.ttl_seconds

        all_users = self.all_users

        send_at: str | Unset = UNSET
        if not isinstance(self.send_at, Unset):
            send_at = self.send_at.isoformat()

        topic = self.topic

        user_ids: list[str] | Unset = UNSET
        if not isinstance(self.user_ids, Unset):
            user_ids = self.user_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if alert is not UNSET:
            field_dict["alert"] = alert
        if badge is not UNSET:
            field_dict["badge"] = badge
        if category is not UNSET:
            field_dict["category"] = category
        if collapse_id is not UNSET:
            field_dict["collapse_id"] = collapse_id
        if content_available is not UNSET:
            field_dict["content_available"] = content_available
        if data is not UNSET:
            field_dict["data"] = data
        if live_activity is not UNSET:
            field_dict["live_activity"] = live_activity
        if mutable_content is not UNSET:
            field_dict["mutable_content"] = mutable_content
        if priority is not UNSET:
            field_dict["priority"] = priority
        if push_type is not UNSET:
            field_dict["push_type"] = push_type
        if sound is not UNSET:
            field_dict["sound"] = sound
        if thread_id is not UNSET:
            field_dict["thread_id"] = thread_id
        if ttl_seconds is not UNSET:
            field_dict["ttl_seconds"] = ttl_seconds
        if all_users is not UNSET:
            field_dict["all_users"] = all_users
        if send_at is not UNSET:
            field_dict["send_at"] = send_at
        if topic is not UNSET:
            field_dict["topic"] = topic
        if user_ids is not UNSET:
            field_dict["user_ids"] = user_ids

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.alert import Alert
        from ..models.live_activity import LiveActivity

        d = dict(src_dict)

        def _parse_alert(data: object) -> Alert | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                alert_type_0 = Alert.from_dict(data)

                return alert_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Alert | None | Unset, data)

        alert = _parse_alert(d.pop("alert", UNSET))

        def _parse_badge(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        badge = _parse_badge(d.pop("badge", UNSET))

        def _parse_category(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        category = _parse_category(d.pop("category", UNSET))

        def _parse_collapse_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        collapse_id = _parse_collapse_id(d.pop("collapse_id", UNSET))

        def _parse_content_available(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        content_available = _parse_content_available(d.pop("content_available", UNSET))

        data = d.pop("data", UNSET)

        def _parse_live_activity(data: object) -> LiveActivity | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                live_activity_type_0 = LiveActivity.from_dict(data)

                return live_activity_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LiveActivity | None | Unset, data)

        live_activity = _parse_live_activity(d.pop("live_activity", UNSET))

        def _parse_mutable_content(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        mutable_content = _parse_mutable_content(d.pop("mutable_content", UNSET))

        def _parse_priority(data: object) -> None | NotificationPriorityType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                priority_type_0 = NotificationPriorityType0(data)

                return priority_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | NotificationPriorityType0 | Unset, data)

        priority = _parse_priority(d.pop("priority", UNSET))

        def _parse_push_type(data: object) -> None | NotificationPushTypeType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                push_type_type_0 = NotificationPushTypeType0(data)

                return push_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | NotificationPushTypeType0 | Unset, data)

        push_type = _parse_push_type(d.pop("push_type", UNSET))

        def _parse_sound(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        sound = _parse_sound(d.pop("sound", UNSET))

        def _parse_thread_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        thread_id = _parse_thread_id(d.pop("thread_id", UNSET))

        def _parse_ttl_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        ttl_seconds = _parse_ttl_seconds(d.pop("ttl_seconds", UNSET))

        all_users = d.pop("all_users", UNSET)

        _send_at = d.pop("send_at", UNSET)
        send_at: datetime.datetime | Unset
        if isinstance(_send_at, Unset):
            send_at = UNSET
        else:
            send_at = datetime.datetime.fromisoformat(_send_at)

        topic = d.pop("topic", UNSET)

        user_ids = cast(list[str], d.pop("user_ids", UNSET))

        bulk_notification_request = cls(
            alert=alert,
            badge=badge,
            category=category,
            collapse_id=collapse_id,
            content_available=content_available,
            data=data,
            live_activity=live_activity,
            mutable_content=mutable_content,
            priority=priority,
            push_type=push_type,
            sound=sound,
            thread_id=thread_id,
            ttl_seconds=ttl_seconds,
            all_users=all_users,
            send_at=send_at,
            topic=topic,
            user_ids=user_ids,
        )

        bulk_notification_request.additional_properties = d
        return bulk_notification_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
