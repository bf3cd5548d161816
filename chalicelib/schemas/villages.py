"""Who to call about a client's village: its Bhabinkamtibmas and village office, and the police of its
kecamatan (Polsek) and kabupaten/kota (Polres). Every number here is sent SMS: mobile numbers only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.base import MobileNumber, Name, Out, Strict


class Contact(Strict):
    name: Name
    phone: MobileNumber


class Bhabinkamtibmas(Contact):
    polsek: Name | None = None


class VillageContacts(Strict):
    bhabinkamtibmas: Bhabinkamtibmas | None = Field(default=None, description=(
        "The village's Bhabinkamtibmas; without one, an escalation goes to the Polsek of the village's kecamatan, "
        "then the Polres of its kabupaten/kota (PUT /v1/areas/{area_code}/contacts)"))
    village_office: Contact | None = None


class ContactOut(Out):
    name: str
    phone: str
    polsek: str | None = None


class VillageContactsOut(Out):
    bapas_id: str
    village_code: str
    village_name: str
    bhabinkamtibmas: ContactOut | None
    village_office: ContactOut | None
    version: int
    updated_at: str
    updated_by: str


class AreaContacts(Strict):
    polsek: Contact | None = Field(default=None, description="For a kecamatan code (31.74.09): its Polsek")
    polres: Contact | None = Field(default=None, description="For a kabupaten/kota code (31.74): its Polres")


class AreaContactsOut(Out):
    bapas_id: str
    area_code: str = Field(description="Dotted Kemendagri code: 31.74.09 (kecamatan) or 31.74 (kabupaten/kota)")
    area_name: str
    level: Literal["kecamatan", "kabupaten"]
    polsek: ContactOut | None
    polres: ContactOut | None
    version: int
    updated_at: str
    updated_by: str
