from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.live_activity_event import LiveActivityEvent
from ..types import UNSET, Unset

T = TypeVar("T", bound="LiveActivity")


@_attrs_define
class LiveActivity:
    """A Live Activity push (ActivityKit), sent with `push_type` `liveactivity`; each field becomes the `aps` key Apple
    names (`event`, `content-state`, `timestamp`, `dismissal-date`, `stale-date`, `relevance-score`, `attributes-type`,
    `attributes`). An `alert` may accompany it; `badge` and `content_available` may not.

        Attributes:
            content_state (Any): The activity's `ContentState`, at most 4096 bytes of JSON (400 naming
                `live_activity.content_state`).
            event (LiveActivityEvent): `start` goes to `push_to_start` tokens, `update` and `end` to `liveactivity` tokens.
            attributes (Any | Unset):
            attributes_type (None | str | Unset): Required with `start` (with `attributes`), refused otherwise.
            dismissal_date (int | None | Unset): Unix seconds; `end` only. The activity's tokens stop being reached from
                then on.
            relevance_score (float | None | Unset):
            stale_date (int | None | Unset):
            timestamp (int | None | Unset): Unix seconds; the time of the send when absent.
    """

    content_state: Any
    event: LiveActivityEvent
    attributes: Any | Unset = UNSET
    attributes_type: None | str | Unset = UNSET
    dismissal_date: int | None | Unset = UNSET
    relevance_score: float | None | Unset = UNSET
    stale_date: int | None | Unset = UNSET
    timestamp: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        content_state = self.content_state

        event = self.event.value

        attributes = self.attributes

        attributes_type: None | str | Unset
        if isinstance(self.attributes_type, Unset):
            attributes_type = UNSET
        else:
            attributes_type = self.attributes_type

        dismissal_date: int | None | Unset
        if isinstance(self.dismissal_date, Unset):
            dismissal_date = UNSET
        else:
            dismissal_date = self.dismissal_date

        relevance_score: float | None | Unset
        if isinstance(self.relevance_score, Unset):
            relevance_score = UNSET
        else:
            relevance_score = self.relevance_score

        stale_date: int | None | Unset
        if isinstance(self.stale_date, Unset):
            stale_date = UNSET
        else:
            stale_date = self.stale_date

        timestamp: int | None | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = self.timestamp

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "content_state": content_state,
                "event": event,
            }
        )
        if attributes is not UNSET:
            field_dict["attributes"] = attributes
        if attributes_type is not UNSET:
            field_dict["attributes_type"] = attributes_type
        if dismissal_date is not UNSET:
            field_dict["dismissal_date"] = dismissal_date
        if relevance_score is not UNSET:
            field_dict["relevance_score"] = relevance_score
        if stale_date is not UNSET:
            field_dict["stale_date"] = stale_date
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        content_state = d.pop("content_state")

        event = LiveActivityEvent(d.pop("event"))

        attributes = d.pop("attributes", UNSET)

        def _parse_attributes_type(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        attributes_type = _parse_attributes_type(d.pop("attributes_type", UNSET))

        def _parse_dismissal_date(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        dismissal_date = _parse_dismissal_date(d.pop("dismissal_date", UNSET))

        def _parse_relevance_score(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        relevance_score = _parse_relevance_score(d.pop("relevance_score", UNSET))

        def _parse_stale_date(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        stale_date = _parse_stale_date(d.pop("stale_date", UNSET))

        def _parse_timestamp(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        live_activity = cls(
            content_state=content_state,
            event=event,
            attributes=attributes,
            attributes_type=attributes_type,
            dismissal_date=dismissal_date,
            relevance_score=relevance_score,
            stale_date=stale_date,
            timestamp=timestamp,
        )

        return live_activity
