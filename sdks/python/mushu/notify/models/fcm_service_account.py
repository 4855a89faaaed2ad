from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="FcmServiceAccount")


@_attrs_define
class FcmServiceAccount:
    """A Google service-account key file (other fields are kept but not required).

    Attributes:
        client_email (str):
        private_key (str): RSA private key in PEM.
        project_id (str):
        token_uri (str):
        type_ (Literal['service_account'] | Unset):
    """

    client_email: str
    private_key: str
    project_id: str
    token_uri: str
    type_: Literal["service_account"] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        client_email = self.client_email

        private_key = self.private_key

        project_id = self.project_id

        token_uri = self.token_uri

        type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "client_email": client_email,
                "private_key": private_key,
                "project_id": project_id,
                "token_uri": token_uri,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        client_email = d.pop("client_email")

        private_key = d.pop("private_key")

        project_id = d.pop("project_id")

        token_uri = d.pop("token_uri")

        type_ = cast(Literal["service_account"] | Unset, d.pop("type", UNSET))
        if type_ != "service_account" and not isinstance(type_, Unset):
            raise ValueError(f"type must match const 'service_account', got '{type_}'")

        fcm_service_account = cls(
            client_email=client_email,
            private_key=private_key,
            project_id=project_id,
            token_uri=token_uri,
            type_=type_,
        )

        fcm_service_account.additional_properties = d
        return fcm_service_account

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
