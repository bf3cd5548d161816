"""Demo data for the local stack: two Bapas, their staff in Cognito, clients and village contacts.

Bapas and users are written directly (there is no API for them: operators create them, see
docs/operations.md); clients and village contacts go through the HTTP API, as the apps would.
All names and numbers are invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import requests

from chalicelib.adapters.aws import client
from chalicelib.adapters.tables import BapasModel

PASSWORD = "Pantau-Demo-2026"

BAPAS = (
    ("jaksel", "Bapas Kelas I Jakarta Selatan", "Asia/Jakarta"),
    ("makassar", "Bapas Kelas I Makassar", "Asia/Makassar"),
)
# Bapas settings (docs/operations.md): the default 48-hour grace period, and a daily SMS cap that one Bapas's
# caseload stays far below (a few escalations a day, each 2-3 SMS outside the Bapas).
SETTINGS = {"jaksel": {"grace_hours": 48, "sms_daily_cap": 150}, "makassar": {"grace_hours": 48, "sms_daily_cap": 100}}

# Police contacts of each Bapas's area, for villages without a Bhabinkamtibmas (the last village of each list).
AREA_CONTACTS = {
    "jaksel": {"31.74.06": {"polsek": {"name": "Iptu Demo Polsek Cilandak", "phone": "0812-5550-1006"}},
               "31.74": {"polres": {"name": "Kompol Demo Polres Jakarta Selatan", "phone": "0812-5550-3174"}}},
    "makassar": {"73.71.11": {"polsek": {"name": "Iptu Demo Polsek Biringkanaya", "phone": "0812-5550-7311"}},
                 "73.71": {"polres": {"name": "Kompol Demo Polrestabes Makassar", "phone": "0812-5550-7371"}}},
}


@dataclass(frozen=True)
class User:
    username: str
    role: str
    bapas_id: str
    name: str
    phone: str


USERS = (
    User("kasubsi.jaksel", "coordinator", "jaksel", "Siti Rahmawati", "+6281100000001"),
    User("pk.andi", "pk", "jaksel", "Andi Saputra", "+6281100000002"),
    User("pk.budi", "pk", "jaksel", "Budi Hartono", "+6281100000003"),
    User("kasubsi.makassar", "coordinator", "makassar", "Nurhayati Daeng", "+6281100000004"),
    User("pk.citra", "pk", "makassar", "Citra Lestari", "+6281100000005"),
    User("pk.dewi", "pk", "makassar", "Dewi Anggraini", "+6281100000006"),
    User("admin.pusat", "admin", "", "Admin Ditjenpas", "+6281100000007"),
)

VILLAGES = {
    "jaksel": ("31.74.09.1001", "31.74.09.1002", "31.74.09.1003", "31.74.06.1002"),
    "makassar": ("73.71.01.1001", "73.71.01.1002", "73.71.11.1002"),
}

CLIENT_NAMES = ("Rudi Hermawan", "Agus Salim", "Joko Prasetyo", "Bambang Irawan", "Yusuf Maulana", "Hendra Gunawan",
                "Ilham Akbar", "Rizky Pratama", "Fajar Nugroho", "Taufik Hidayat", "Arif Rahman", "Dimas Kurniawan")


def create_users(region: str, pool_id: str, users: tuple[User, ...] = USERS, password: str = PASSWORD) -> None:
    idp = client("cognito-idp", region)
    for user in users:
        attributes = [{"Name": "name", "Value": user.name}, {"Name": "phone_number", "Value": user.phone}]
        if user.bapas_id:
            attributes.append({"Name": "custom:bapas_id", "Value": user.bapas_id})
        idp.admin_create_user(UserPoolId=pool_id, Username=user.username, UserAttributes=attributes,
                              MessageAction="SUPPRESS", TemporaryPassword=password + "-tmp")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=user.username, Password=password, Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user.username, GroupName=user.role)


def create_bapas() -> None:
    for bapas_id, name, tz in BAPAS:
        BapasModel(bapas_id, name=name, timezone=tz, **SETTINGS[bapas_id]).save()


def subscribe_coordinators(region: str, topic_arn: str) -> list[str]:
    """Each demo coordinator's e-mail on the coordinators' topic, filtered to their own Bapas."""
    from infra.subscriptions import subscribe_coordinator

    sns = client("sns", region)
    return [subscribe_coordinator(sns, topic_arn, u.bapas_id, "email", f"{u.username}@demo.pantau.invalid")
            for u in USERS if u.role == "coordinator"]


def login(region: str, client_id: str, username: str, password: str = PASSWORD) -> str:
    idp = client("cognito-idp", region)
    result = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": username, "PASSWORD": password})
    return result["AuthenticationResult"]["IdToken"]


def demo_clients(bapas_id: str, today: date) -> list[dict[str, Any]]:
    pks = [u.username for u in USERS if u.bapas_id == bapas_id and u.role == "pk"]
    villages = VILLAGES[bapas_id]
    programs = ("asimilasi", "pembebasan_bersyarat", "cuti_bersyarat", "cuti_menjelang_bebas")
    base = {"jaksel": (-6.3356, 106.8200), "makassar": (-5.1477, 119.4327)}[bapas_id]
    offset = 0 if bapas_id == "jaksel" else 6
    out = []
    for i in range(6):
        program = programs[i % 4]
        start = today - timedelta(days=14 + 9 * i)
        village = villages[i % len(villages)]
        out.append({
            "name": CLIENT_NAMES[offset + i],
            "program": program,
            "supervision_start": start.isoformat(),
            "supervision_end": (start + timedelta(days=180 if program == "asimilasi" else 365)).isoformat(),
            "tracking_from": start.isoformat(),  # the demo's history is on file from the start
            "officer": pks[i % len(pks)],
            "phones": [{"number": f"0812-{3000 + offset + i:04d}-{4100 + i:04d}", "owner": "client"},
                       {"number": f"0813 {5000 + offset + i:04d} {6200 + i:04d}", "owner": "guarantor",
                        "name": "Keluarga"}],
            "address": {"text": f"Jl. Melati No. {10 + i}, RT 0{1 + i % 5}/RW 0{2 + i % 3}",
                        # every other one written without dots, as the contract allows
                        "village_code": village.replace(".", "") if i % 2 else village,
                        "location": {"lat": round(base[0] + 0.003 * i, 6), "lon": round(base[1] + 0.002 * i, 6)}},
            "offence": "Pasal 362 KUHP" if i % 3 == 0 else None,
        })
    return [{k: v for k, v in c.items() if v is not None} for c in out]


def demo_village_contacts(bapas_id: str) -> dict[str, dict[str, Any]]:
    contacts = {}
    for j, code in enumerate(VILLAGES[bapas_id][:-1]):  # the last village has no contact on purpose
        contacts[code] = {
            "bhabinkamtibmas": {"name": f"Bripka Demo {bapas_id.title()} {j + 1}", "phone": f"0812-7700-{1000 + j:04d}",
                                "polsek": f"Polsek {bapas_id.title()}"},
            "village_office": {"name": f"Kantor Kelurahan {j + 1}", "phone": f"0813-8800-{2000 + j:04d}"},
        }
    return contacts


def seed_via_api(api_url: str, region: str, client_id: str, today: date) -> dict[str, list[str]]:
    """Register the demo clients and village contacts as each Bapas's coordinator would."""
    created: dict[str, list[str]] = {}
    for bapas_id, _, _ in BAPAS:
        coordinator = next(u for u in USERS if u.bapas_id == bapas_id and u.role == "coordinator")
        headers = {"Authorization": f"Bearer {login(region, client_id, coordinator.username)}"}
        for code, body in demo_village_contacts(bapas_id).items():
            r = requests.put(f"{api_url}/v1/villages/{code}/contacts", json=body, headers=headers, timeout=30)
            r.raise_for_status()
        for code, body in AREA_CONTACTS[bapas_id].items():
            r = requests.put(f"{api_url}/v1/areas/{code}/contacts", json=body, headers=headers, timeout=30)
            r.raise_for_status()
        ids = []
        for body in demo_clients(bapas_id, today):
            r = requests.post(f"{api_url}/v1/clients", json=body, headers=headers, timeout=30)
            r.raise_for_status()
            ids.append(r.json()["id"])
        created[bapas_id] = ids
    seed_history(api_url, region, client_id, today, created)
    return created


# ----- history: check-ins, visits, progress reports and an escalation, so the reports show something ----------

# Per demo client (by its index in `demo_clients`): (kind, day after supervision start, details). The patterns
# give every state: 0 due, 1 compliant, 2 due, 3 missed, 4 unreachable (escalated below), 5 compliant.
HISTORY: dict[int, tuple[tuple[str, int, dict[str, Any]], ...]] = {
    0: (("checkins", 1, {"outcome": "completed"}), ("checkins", 8, {"outcome": "completed"})),
    1: (("checkins", 2, {"outcome": "completed"}), ("visits", 10, {"client_present": True})),
    2: (("checkins", 5, {"outcome": "completed"}), ("checkins", 31, {"outcome": "no_answer"})),
    3: (("visits", 35, {"client_present": False}),),
    4: tuple(("checkins", d, {"outcome": "completed"}) for d in (1, 8, 15)),
    5: (("visits", 3, {"client_present": True}), ("checkins", 33, {"outcome": "completed"}),
        ("progress-reports", 31, {"period": (0, 29)})),
}


def _history_body(kind: str, at: str, start: date, details: dict[str, Any], location: dict[str, float]) -> dict:
    if kind == "checkins":
        return {"occurred_at": at, "channel": "video_call", "outcome": details["outcome"], "notes": "Lapor diri."}
    if kind == "visits":
        return {"visited_at": at, "location": {**location, "accuracy_m": 15},
                "client_present": details["client_present"], "met": [{"role": "family"}], "notes": "Kunjungan rumah."}
    first, last = (start + timedelta(days=d) for d in details["period"])
    return {"stage": "awal", "period_start": first.isoformat(), "period_end": last.isoformat(),
            "assessment_summary": "Klien kooperatif dan rutin lapor diri.",
            "criminogenic_factors": "Lingkungan pergaulan lama; belum bekerja tetap.",
            "recommended_program": "Pelatihan kerja (bengkel) dan konseling keluarga", "submitted_at": at}


def seed_history(api_url: str, region: str, client_id: str, today: date, created: dict[str, list[str]]) -> None:
    """Record the demo history as the PKs would (over the API), then run the daily escalation in-process."""
    import uuid
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    tokens = {u.username: login(region, client_id, u.username) for u in USERS if u.role == "pk"}
    for bapas_id, _, tz in BAPAS:
        for i, (body, cid) in enumerate(zip(demo_clients(bapas_id, today), created[bapas_id], strict=True)):
            start = date.fromisoformat(body["supervision_start"])
            location = body["address"]["location"]
            headers = {"Authorization": f"Bearer {tokens[body['officer']]}"}
            for kind, day, details in HISTORY.get(i, ()):
                at = datetime.combine(start + timedelta(days=day), time(10), ZoneInfo(tz)).isoformat()
                r = requests.put(f"{api_url}/v1/clients/{cid}/{kind}/{uuid.uuid4()}", headers=headers, timeout=30,
                                 json=_history_body(kind, at, start, details, location))
                r.raise_for_status()
    from chalicelib.domain.timeutil import to_rfc3339
    from infra.invoke import invoke

    invoke("escalate_unreachable", to_rfc3339(daytime_run()))  # opens the escalations of the two clients 4


def daytime_run() -> datetime:
    """The instant the demo's escalation run is made at: the latest 03:00 UTC (10:00 WIB, 11:00 WITA, 12:00 WIT)
    at least an hour ago, so its SMS go out at once in every zone (a run judged at a late-evening `make run` would
    hold them for the morning) whatever the hour the stack is started, and the same way every time."""
    from chalicelib.domain.timeutil import now_utc
    from chalicelib.services.escalation import LIVE_WITHIN

    latest = now_utc() - LIVE_WITHIN
    at = latest.replace(hour=3, minute=0, second=0, microsecond=0)
    return at if at <= latest else at - timedelta(days=1)
