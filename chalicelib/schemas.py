"""Request bodies as pydantic models. Field names and limits here are what the OpenAPI file shows."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chalicelib.domain.clients import Program
from chalicelib.domain.phones import InvalidPhone, normalize_id_phone
from chalicelib.domain.villages import UnknownVillage, normalize_village_code

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Day = Annotated[date, Field(strict=True, ge=date(2000, 1, 1), le=date(2100, 12, 31))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4000)


def _e164(value: str) -> str:
    try:
        return normalize_id_phone(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


# An Indonesian number in any common written form in, E.164 (+62…) out.
PhoneNumber = Annotated[str, StringConstraints(max_length=40), AfterValidator(_e164)]


class Phone(Strict):
    number: PhoneNumber
    owner: Literal["client", "guarantor"]
    name: Name | None = None


class Location(Strict):
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]

    @field_validator("lat", "lon")
    @classmethod
    def _storable(cls, value: float) -> float:
        # 1e-7 degree is about 1 cm; and DynamoDB refuses numbers closer to zero than 1e-130 (4e-209 was a 500).
        return round(value, 7) + 0.0


class Address(Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    village_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
    location: Location | None = None

    @field_validator("village_code")
    @classmethod
    def _village(cls, value: str) -> str:
        try:
            return normalize_village_code(value)
        except UnknownVillage as exc:
            raise ValueError(str(exc)) from None


Phones = Annotated[list[Phone], Field(min_length=1, max_length=10)]
Interval = Annotated[int, Field(strict=True, ge=1, le=90)]


class ClientCreate(Strict):
    id: UUID | None = None
    name: Name
    program: Program
    supervision_start: Day
    supervision_end: Day
    officer: Username
    phones: Phones
    address: Address
    offence: ShortText | None = None
    notes: LongText | None = None
    checkin_interval_days: Interval | None = None


class ClientPatch(Strict):
    name: Name | None = None
    program: Program | None = None
    supervision_start: Day | None = None
    supervision_end: Day | None = None
    officer: Username | None = None
    phones: Phones | None = None
    address: Address | None = None
    offence: ShortText | None = None
    notes: LongText | None = None
    checkin_interval_days: Interval | None = None


class Contact(Strict):
    name: Name
    phone: PhoneNumber


class Bhabinkamtibmas(Contact):
    polsek: Name | None = None


class VillageContacts(Strict):
    bhabinkamtibmas: Bhabinkamtibmas
    village_office: Contact | None = None
