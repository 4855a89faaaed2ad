from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TopicUnsubscribeResponse")


@_attrs_define
class TopicUnsubscribeResponse:
    """
    Attributes:
        topic (str): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
        unsubscribed (int): Distinct users of the request, none of them subscribed any more.
    """

    topic: str
    unsubscribed: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        topic = self.topic

        unsubscribed = self.unsubscribed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "topic": topic,
                "unsubscribed": unsubscribed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        topic = d.pop("topic")

        unsubscribed = d.pop("unsubscribed")

        topic_unsubscribe_response = cls(
            topic=topic,
            unsubscribed=unsubscribed,
        )

        topic_unsubscribe_response.additional_properties = d
        return topic_unsubscribe_response

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
