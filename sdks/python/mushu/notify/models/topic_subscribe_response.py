from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TopicSubscribeResponse")


@_attrs_define
class TopicSubscribeResponse:
    """
    Attributes:
        subscribed (int): Distinct users of the request subscribed now (by it or before).
        too_many_topics (list[str]): Users not subscribed because they already have 100 other topics, in request order.
        topic (str): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
    """

    subscribed: int
    too_many_topics: list[str]
    topic: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        subscribed = self.subscribed

        too_many_topics = self.too_many_topics

        topic = self.topic

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "subscribed": subscribed,
                "too_many_topics": too_many_topics,
                "topic": topic,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        subscribed = d.pop("subscribed")

        too_many_topics = cast(list[str], d.pop("too_many_topics"))

        topic = d.pop("topic")

        topic_subscribe_response = cls(
            subscribed=subscribed,
            too_many_topics=too_many_topics,
            topic=topic,
        )

        topic_subscribe_response.additional_properties = d
        return topic_subscribe_response

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
