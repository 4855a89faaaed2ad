from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TokenValidation")


@_attrs_define
class TokenValidation:
    """
    Attributes:
        email (None | str):
        orgs (list[str]): The token's `orgs` (the personal org `user_id` is implied).
        user_id (str): The token's `sub`.
        valid (bool):
    """

    email: None | str
    orgs: list[str]
    user_id: str
    valid: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email: None | str
        email = self.email

        orgs = self.orgs

        user_id = self.user_id

        valid = self.valid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "email": email,
                "orgs": orgs,
                "user_id": user_id,
                "valid": valid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_email(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        email = _parse_email(d.pop("email"))

        orgs = cast(list[str], d.pop("orgs"))

        user_id = d.pop("user_id")

        valid = d.pop("valid")

        token_validation = cls(
            email=email,
            orgs=orgs,
            user_id=user_id,
            valid=valid,
        )

        token_validation.additional_properties = d
        return token_validation

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
