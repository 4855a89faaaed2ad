from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="TopicSubscribersRequest")


@_attrs_define
class TopicSubscribersRequest:
    """
    Attributes:
        user_ids (list[str]):
    """

    user_ids: list[str]

    def to_dict(self) -> dict[str, Any]:
        user_ids = self.user_ids

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "user_ids": user_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        user_ids = cast(list[str], d.pop("user_ids"))

        topic_subscribers_request = cls(
            user_ids=user_ids,
        )

        return topic_subscribers_request
