"""A village's (kelurahan/desa) contacts: its Bhabinkamtibmas and the village office."""

from __future__ import annotations

from chalicelib.schemas.base import Name, Out, PhoneNumber, Strict


class Contact(Strict):
    name: Name
    phone: PhoneNumber


class Bhabinkamtibmas(Contact):
    polsek: Name | None = None


class VillageContacts(Strict):
    bhabinkamtibmas: Bhabinkamtibmas
    village_office: Contact | None = None


class ContactOut(Out):
    name: str
    phone: str
    polsek: str | None = None


class VillageContactsOut(Out):
    bapas_id: str
    village_code: str
    village_name: str
    bhabinkamtibmas: ContactOut
    village_office: ContactOut | None
    version: int
    updated_at: str
    updated_by: str
