from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="UsageBucket")


@_attrs_define
class UsageBucket:
    """
    Attributes:
        pushes (int):
        pushes_failed (int):
        rejected (int):
        requests (int):
        start (datetime.datetime): The bucket's first instant (an hour or a day, UTC).
        throttled (int):
    """

    pushes: int
    pushes_failed: int
    rejected: int
    requests: int
    start: datetime.datetime
    throttled: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pushes = self.pushes

        pushes_failed = self.pushes_failed

        rejected = self.rejected

        requests = self.requests

        start = self.start.isoformat()

        throttled = self.throttled

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pushes": pushes,
                "pushes_failed": pushes_failed,
                "rejected": rejected,
                "requests": requests,
                "start": start,
                "throttled": throttled,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        pushes = d.pop("pushes")

        pushes_failed = d.pop("pushes_failed")

        rejected = d.pop("rejected")

        requests = d.pop("requests")

        start = datetime.datetime.fromisoformat(d.pop("start"))

        throttled = d.pop("throttled")

        usage_bucket = cls(
            pushes=pushes,
            pushes_failed=pushes_failed,
            rejected=rejected,
            requests=requests,
            start=start,
            throttled=throttled,
        )

        usage_bucket.additional_properties = d
        return usage_bucket

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
