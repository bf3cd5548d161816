"""DynamoDB tables as PynamoDB models: the single source of truth for every table and index.

The local bootstrap creates tables from these classes, and `infra/template.yaml` is checked against
them by a test. Table names are `<PANTAU_TABLE_PREFIX>-<name>`.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

from chalicelib.domain.timeutil import to_key_time

PREFIX = os.environ.get("PANTAU_TABLE_PREFIX", "pantau-dev")
REGION = os.environ.get("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "ap-southeast-3"))


def _meta(name: str) -> type:
    class Meta:
        table_name = f"{PREFIX}-{name}"
        region = REGION
        billing_mode = "PAY_PER_REQUEST"

    return Meta


class _GsiMeta:
    projection = AllProjection()


class BapasRegistryIndex(GlobalSecondaryIndex):
    """Every Bapas in one partition (`registry` = "bapas"): the national views list the Bapas with one Query."""

    class Meta(_GsiMeta):
        index_name = "registry-index"

    registry = UnicodeAttribute(hash_key=True)
    bapas_id = UnicodeAttribute(range_key=True)


class BapasModel(Model):
    """A Balai Pemasyarakatan: its full name, time zone (WIB, WITA or WIT) and settings (docs/operations.md)."""

    Meta = _meta("bapas")
    bapas_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()  # the full name, as SMS texts sign it: "Bapas Kelas I Jakarta Selatan"
    timezone = UnicodeAttribute()
    grace_hours = NumberAttribute(null=True)  # an unreachable episode is escalated after this long (default 48)
    sms_daily_cap = NumberAttribute(null=True)  # SMS to people outside the Bapas per local day (default 200)
    reminder_days_before = NumberAttribute(null=True)  # remind a client this many days before a window closes (2)
    registry = UnicodeAttribute(default="bapas")  # the one partition of `registry-index`

    registry_index = BapasRegistryIndex()


class ClientBapasIndex(GlobalSecondaryIndex):
    class Meta(_GsiMeta):
        index_name = "bapas-index"

    bapas_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)


class ClientOfficerIndex(GlobalSecondaryIndex):
    class Meta(_GsiMeta):
        index_name = "officer-index"

    officer_key = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)


class ClientNameIndex(GlobalSecondaryIndex):
    """A Bapas's clients by name (`name_key` = "<folded name>#<client_id>", domain/names.py): name-prefix search
    with one Query (`begins_with`), never a Scan. Anonymised clients leave it (no `name_key`)."""

    class Meta(_GsiMeta):
        index_name = "bapas-name-index"

    bapas_id = UnicodeAttribute(hash_key=True)
    name_key = UnicodeAttribute(range_key=True)


# What the compliance report reads of a client (services/reports.py), and nothing that grows with its history:
# the compacted windows as their bounded view (`report_summary`, domain/compaction.py `ReportView`), not the
# summary; the facts of the last KEEP_DAYS; the progress reports as their view (`progress_summary`,
# domain/progress.py `view`: one bit a due period of the current period); the stage reviews (one a stage, three
# stages a period); the cadence history and the current period (changed by people, not by records). DynamoDB's
# 1 MB page counts only these (and the keys).
REPORT_ATTRIBUTES = ["officer", "program", "supervision_start", "supervision_end", "checkin_interval_days",
                     "tracking_from", "schedule", "period", "contacts", "report_summary", "progress_summary",
                     "stage_reviews"]


class ClientReportIndex(GlobalSecondaryIndex):
    """The compliance report's reads: a Bapas's clients (or one PK's: `officer_key` equal), with only
    `REPORT_ATTRIBUTES` projected."""

    class Meta:
        index_name = "report-index"
        projection = IncludeProjection(REPORT_ATTRIBUTES)

    bapas_id = UnicodeAttribute(hash_key=True)
    officer_key = UnicodeAttribute(range_key=True)


class ClientDueIndex(GlobalSecondaryIndex):
    """Sparse: clients whose current contact window closes at `due_at`, spread over a few shards."""

    class Meta(_GsiMeta):
        index_name = "due-index"

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class ClientRetentionIndex(GlobalSecondaryIndex):
    """Sparse: clients not yet anonymised, by the month their supervision ends ("YYYY-MM"): the retention job."""

    class Meta:
        index_name = "retention-index"
        projection = KeysOnlyProjection()  # the job reads each item itself, consistently

    end_month = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)


class ClientModel(Model):
    Meta = _meta("clients")
    client_id = UnicodeAttribute(hash_key=True)
    bapas_id = UnicodeAttribute()
    officer = UnicodeAttribute()
    officer_key = UnicodeAttribute()  # "<bapas_id>#<officer>"
    name = UnicodeAttribute()
    program = UnicodeAttribute()
    supervision_start = UnicodeAttribute()  # YYYY-MM-DD, Bapas time zone
    supervision_end = UnicodeAttribute()
    checkin_interval_days = NumberAttribute()
    phones = ListAttribute(of=MapAttribute)
    address = MapAttribute()
    village_code = UnicodeAttribute()
    offence = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    version = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    request_hash = UnicodeAttribute(null=True)
    # Compliance facts: "<UTC RFC 3339>|<contact kind>|<record key>", appended in the record's transaction.
    contacts = ListAttribute(of=UnicodeAttribute, null=True)
    # The facts of windows closed more than KEEP_DAYS ago, folded into one summary (domain/compaction.py): the
    # item stays bounded however many records the client has.
    contacts_summary = UnicodeAttribute(null=True)
    # Its bounded view for the compliance report (compaction.report_view), written with it (and by a PATCH that
    # changes which windows can be missed); absent while there is no summary.
    report_summary = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    open_escalation_id = UnicodeAttribute(null=True)
    # Version 1.1: the first local date whose windows can be missed (absent: supervision_start, see
    # services/migrations.py), and the cadence history [{from, checkin_interval_days, program}] (absent: one
    # entry from supervision_start with the client's program and interval).
    # Issue 14: a coordinator may switch a client's reminders off (absent: on); the pending phone verification
    # (domain/verification.py: number, salted hash of the code, expiry, attempts -- never the code).
    reminders_enabled = BooleanAttribute(null=True)
    verification = MapAttribute(null=True)
    tracking_from = UnicodeAttribute(null=True)
    schedule = ListAttribute(of=MapAttribute, null=True)
    # Progress-report facts: "<UTC submitted_at>|<period_start>|<period_end>|<record key>" (domain/progress.py).
    progress_reports = ListAttribute(of=UnicodeAttribute, null=True)
    # Their bounded view for the compliance report (progress.view), written with each (and by a PATCH of the
    # period); absent while there is none.
    progress_summary = UnicodeAttribute(null=True)
    # Stage-review facts: "<UTC recorded_at>|<stage>|<record key>" (domain/reviews.py).
    stage_reviews = ListAttribute(of=UnicodeAttribute, null=True)
    # supervision_end[:7] until the retention job anonymises the client (services/retention.py), then removed.
    end_month = UnicodeAttribute(null=True)
    anonymised_at = UnicodeAttribute(null=True)
    # The pending transfer to another Bapas (at most one), and the Bapas the client was transferred from, oldest
    # first (its photos stay under their `photos/<bapas_id>/` prefix: services/photos.py).
    pending_transfer_id = UnicodeAttribute(null=True)
    open_violations = UnicodeSetAttribute(null=True)  # ids of the client's open violation records
    former_bapas = ListAttribute(of=UnicodeAttribute, null=True)
    # Supervision periods (services/programs.py): the current period's decree and dates `{sk_number, sk_date,
    # start_date, windows_from, note, changed_at, changed_by}` (absent: the period from supervision_start, no decree
    # recorded; its program and end are `program` and `supervision_end`), and the periods a program change closed,
    # oldest first, with their program, decree, dates and cadence. Decree numbers and dates are not personal data;
    # a note may be, and the retention run replaces it.
    period = MapAttribute(null=True)
    periods = ListAttribute(of=MapAttribute, null=True)

    name_key = UnicodeAttribute(null=True)  # the name search (bapas-name-index)

    bapas_index = ClientBapasIndex()
    name_index = ClientNameIndex()
    officer_index = ClientOfficerIndex()
    due_index = ClientDueIndex()
    report_index = ClientReportIndex()
    retention_index = ClientRetentionIndex()


class AuditModel(Model):
    """Append-only audit trail: who did what to which entity, when, under which request."""

    Meta = _meta("audit")
    entity = UnicodeAttribute(hash_key=True)  # "client#<id>", "village#<bapas>#<code>", ...
    at_id = UnicodeAttribute(range_key=True)  # "<UTC RFC 3339>#<uuid>"
    action = UnicodeAttribute()
    actor = UnicodeAttribute()
    role = UnicodeAttribute()
    bapas_id = UnicodeAttribute()
    request_id = UnicodeAttribute()
    fields = ListAttribute(of=UnicodeAttribute, null=True)  # names of the fields that changed, no values
    version = NumberAttribute(null=True)
    # An upload's claim (entity "upload#<pending key>", at_id "claim"): the record that referenced it, once.
    target = UnicodeAttribute(null=True)
    # A list read (entity "client-list#<bapas_id>"): the ids of the clients it answered.
    subjects = ListAttribute(of=UnicodeAttribute, null=True)


class VillageContactModel(Model):
    """A Bapas's directory of who to call in a village: the Bhabinkamtibmas and the village office."""

    Meta = _meta("village-contacts")
    bapas_id = UnicodeAttribute(hash_key=True)
    village_code = UnicodeAttribute(range_key=True)
    village_name = UnicodeAttribute()
    bhabinkamtibmas = MapAttribute(null=True)  # none: the kecamatan's Polsek, then the kabupaten's Polres
    village_office = MapAttribute(null=True)
    version = NumberAttribute()
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()


class AreaContactModel(Model):
    """A Bapas's police contacts for a kecamatan (`polsek`) or a kabupaten/kota (`polres`), by Kemendagri code."""

    Meta = _meta("area-contacts")
    bapas_id = UnicodeAttribute(hash_key=True)
    area_code = UnicodeAttribute(range_key=True)  # dotted: "31.74.09" (kecamatan) or "31.74" (kabupaten/kota)
    area_name = UnicodeAttribute()
    level = UnicodeAttribute()  # kecamatan | kabupaten
    polsek = MapAttribute(null=True)  # {name, phone}
    polres = MapAttribute(null=True)
    version = NumberAttribute()
    updated_at = UnicodeAttribute()
    updated_by = UnicodeAttribute()


class CounterModel(Model):
    """Conditional counters, e.g. `sms#<bapas_id>#<local date>`: SMS sent outside the Bapas that day."""

    Meta = _meta("counters")
    counter = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)  # DynamoDB removes a day's counter a few days later


class RecordTimeIndex(LocalSecondaryIndex):
    """A client's records of one kind, by time: `kind_time` = "<kind>#<UTC time>#<id>"."""

    class Meta(_GsiMeta):
        index_name = "kind-time-index"

    client_id = UnicodeAttribute(hash_key=True)
    kind_time = UnicodeAttribute(range_key=True)


class RecordAllTimeIndex(LocalSecondaryIndex):
    """A client's records of every kind, by time (the timeline): `time_key` = "<UTC time>#<kind>#<id>"."""

    class Meta(_GsiMeta):
        index_name = "time-index"

    client_id = UnicodeAttribute(hash_key=True)
    time_key = UnicodeAttribute(range_key=True)


class RecordModel(Model):
    """Field records made offline by the app (check-ins, visits, progress reports, stage reviews), keyed by their
    ids."""

    Meta = _meta("records")
    client_id = UnicodeAttribute(hash_key=True)
    record_key = UnicodeAttribute(range_key=True)  # "<kind>#<id>"
    kind = UnicodeAttribute()
    kind_time = UnicodeAttribute()
    bapas_id = UnicodeAttribute()
    body_hash = UnicodeAttribute()
    data = MapAttribute()
    created_at = UnicodeAttribute()
    created_by = UnicodeAttribute()
    version = NumberAttribute()
    # The exact JSON body answered on creation, answered again on every identical replay and in lists.
    response = UnicodeAttribute(null=True)
    time_key = UnicodeAttribute(null=True)
    # Per stored photo, "<version id>|<ETag>" of the upload that was checked: what a replay copies, nothing newer.
    kept_from = ListAttribute(of=UnicodeAttribute, null=True)

    time_index = RecordTimeIndex()
    all_time_index = RecordAllTimeIndex()


class EscalationBapasIndex(GlobalSecondaryIndex):
    """A Bapas's escalations by state, newest first: `state_opened` = "<state>#<opened_at>#<id>"."""

    class Meta(_GsiMeta):
        index_name = "bapas-state-index"

    bapas_id = UnicodeAttribute(hash_key=True)
    state_opened = UnicodeAttribute(range_key=True)


class EscalationOfficerIndex(GlobalSecondaryIndex):
    """A PK's escalations by state (`officer_key` = "<bapas_id>#<officer>" when the escalation opened)."""

    class Meta(_GsiMeta):
        index_name = "officer-state-index"

    officer_key = UnicodeAttribute(hash_key=True)
    state_opened = UnicodeAttribute(range_key=True)


class EscalationClientIndex(GlobalSecondaryIndex):
    """A client's escalations by opening time (the client's timeline)."""

    class Meta(_GsiMeta):
        index_name = "client-index"

    client_id = UnicodeAttribute(hash_key=True)
    opened_at = UnicodeAttribute(range_key=True)


class EscalationResolvedIndex(GlobalSecondaryIndex):
    """Sparse: a Bapas's resolved escalations by resolution time (the compliance report's resolution times)."""

    class Meta(_GsiMeta):
        index_name = "bapas-resolved-index"

    bapas_id = UnicodeAttribute(hash_key=True)
    resolved_at = UnicodeAttribute(range_key=True)


class EscalationModel(Model):
    """One unreachable episode of one client: its id is uuid5(client_id, episode_started_at), so it opens once."""

    Meta = _meta("escalations")
    escalation_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    bapas_id = UnicodeAttribute()
    officer = UnicodeAttribute()
    officer_key = UnicodeAttribute()
    village_code = UnicodeAttribute()
    village_name = UnicodeAttribute(null=True)
    reason = UnicodeAttribute()  # three_missed | number_inactive
    episode_started_at = UnicodeAttribute()  # UTC RFC 3339
    episode_ended_at = UnicodeAttribute(null=True)  # the counted contact that ended it, once known
    opened_at = UnicodeAttribute()
    consecutive_missed = NumberAttribute()
    state = UnicodeAttribute()  # open | resolved
    state_opened = UnicodeAttribute()
    task_id = UnicodeAttribute(null=True)
    resolution = UnicodeAttribute(null=True)
    notes = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    resolved_at = UnicodeAttribute(null=True)
    version = NumberAttribute()
    # Answers from the village through reply links: {recipient, recipient_role, answer, notes, at}, appended.
    responses = ListAttribute(of=MapAttribute, null=True)

    bapas_index = EscalationBapasIndex()
    officer_index = EscalationOfficerIndex()
    client_index = EscalationClientIndex()
    resolved_index = EscalationResolvedIndex()


class NotificationClientIndex(GlobalSecondaryIndex):
    """Every message sent to or about a client, by creation time (`GET /v1/clients/{id}/messages`)."""

    class Meta(_GsiMeta):
        index_name = "client-index"

    client_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class NotificationDeferredIndex(GlobalSecondaryIndex):
    """Sparse: messages held back (night, daily cap) until `send_after`, over a few shards."""

    class Meta:
        index_name = "deferred-index"
        projection = IncludeProjection(["kind"])  # the sender reads each message itself, consistently

    deferred_shard = UnicodeAttribute(hash_key=True)
    send_after = UnicodeAttribute(range_key=True)


class NotificationMessageIndex(GlobalSecondaryIndex):
    """Sparse: messages by the id SNS gave them, for its delivery reports (services/delivery.py)."""

    class Meta:
        index_name = "message-index"
        projection = KeysOnlyProjection()  # the handler reads each message itself, consistently

    message_id = UnicodeAttribute(hash_key=True)


class NotificationModel(Model):
    """One outbound message (an SMS or a topic publish) with its own delivery status (services/outbound.py).

    The hash key groups a message with its siblings: an escalation's id for its notifications (one per
    recipient), or another thread key (`reminder#...`, `verification#...`) for the other kinds. A crash
    resumes without re-sending: only the holder of a claim (`sending` + `claimed_at`) sends.
    """

    Meta = _meta("notifications")
    escalation_id = UnicodeAttribute(hash_key=True)  # the thread: an escalation id, or `<kind>#...`
    recipient = UnicodeAttribute(range_key=True)  # the recipient's slot in the thread (usually the role)
    recipient_role = UnicodeAttribute()  # bhabinkamtibmas | polsek | polres | village_office | guarantor | ...
    channel = UnicodeAttribute()  # sms | sns_topic
    to = UnicodeAttribute(null=True)  # E.164 phone or topic ARN; null when there is nobody to send to
    # pending | sending | sent | failed | no_contact | deferred | cancelled
    status = UnicodeAttribute()
    claimed_at = UnicodeAttribute(null=True)  # when a worker took it (status sending)
    message_id = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Version 1.1 (absent on older items): what the outbound layer needs to send, hold and list a message.
    kind = UnicodeAttribute(null=True)  # escalation | reminder | verification
    client_id = UnicodeAttribute(null=True)
    bapas_id = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)  # the message exactly as sent (never logged)
    subject = UnicodeAttribute(null=True)  # topic messages
    outside = NumberAttribute(null=True)  # 1: the recipient is outside the Bapas (daytime only, counted in the cap)
    tz = UnicodeAttribute(null=True)  # the recipient's time zone (the village's) for the daytime rule
    send_after = UnicodeAttribute(null=True)  # deferred until (UTC RFC 3339)
    deferred_shard = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)

    client_index = NotificationClientIndex()
    deferred_index = NotificationDeferredIndex()
    message_index = NotificationMessageIndex()


class TaskBapasIndex(GlobalSecondaryIndex):
    """A Bapas's tasks by state and due date: `state_due` = "<state>#<due_date>#<task_id>"."""

    class Meta(_GsiMeta):
        index_name = "bapas-state-index"

    bapas_id = UnicodeAttribute(hash_key=True)
    state_due = UnicodeAttribute(range_key=True)


class TaskOfficerIndex(GlobalSecondaryIndex):
    class Meta(_GsiMeta):
        index_name = "officer-state-index"

    officer_key = UnicodeAttribute(hash_key=True)
    state_due = UnicodeAttribute(range_key=True)


class TaskModel(Model):
    """Work for a PK: the home visit an escalation asks for (id derived from the escalation's)."""

    Meta = _meta("tasks")
    task_id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # home_visit
    client_id = UnicodeAttribute()
    escalation_id = UnicodeAttribute(null=True)
    bapas_id = UnicodeAttribute()
    officer = UnicodeAttribute()
    officer_key = UnicodeAttribute()
    village_code = UnicodeAttribute(null=True)
    due_date = UnicodeAttribute()  # YYYY-MM-DD, Bapas time zone
    state = UnicodeAttribute()  # open | done
    state_due = UnicodeAttribute()
    created_at = UnicodeAttribute()
    closed_at = UnicodeAttribute(null=True)
    closed_reason = UnicodeAttribute(null=True)
    version = NumberAttribute()

    bapas_index = TaskBapasIndex()
    officer_index = TaskOfficerIndex()


class TransferIncomingIndex(GlobalSecondaryIndex):
    """Transfers into a Bapas by state, newest first: `state_requested` = "<state>#<requested_at>#<id>"."""

    class Meta(_GsiMeta):
        index_name = "incoming-index"

    to_bapas_id = UnicodeAttribute(hash_key=True)
    state_requested = UnicodeAttribute(range_key=True)


class TransferOutgoingIndex(GlobalSecondaryIndex):
    """Transfers out of a Bapas by state, newest first."""

    class Meta(_GsiMeta):
        index_name = "outgoing-index"

    from_bapas_id = UnicodeAttribute(hash_key=True)
    state_requested = UnicodeAttribute(range_key=True)


class TransferModel(Model):
    """A client handed over from one Bapas to another (dilimpahkan): requested, then accepted or declined."""

    Meta = _meta("transfers")
    transfer_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    from_bapas_id = UnicodeAttribute()
    to_bapas_id = UnicodeAttribute()
    from_officer = UnicodeAttribute()
    reason = UnicodeAttribute()
    state = UnicodeAttribute()  # pending | accepted | declined
    state_requested = UnicodeAttribute()
    requested_by = UnicodeAttribute()
    requested_at = UnicodeAttribute()
    officer = UnicodeAttribute(null=True)  # the receiving PK, once accepted
    decided_by = UnicodeAttribute(null=True)
    decided_at = UnicodeAttribute(null=True)
    decline_reason = UnicodeAttribute(null=True)
    moved = NumberAttribute(null=True)  # escalations and tasks that moved with the client
    history_pending = NumberAttribute(null=True)  # of those, still to move after the accept (see services)
    version = NumberAttribute()

    incoming_index = TransferIncomingIndex()
    outgoing_index = TransferOutgoingIndex()


class ReplyModel(Model):
    """Reply links and their rate counters (services/replies.py), one table, two kinds of item:

    - `link#<sha256 of the token>`: the escalation and recipient a reply link is bound to, and its expiry. Only
      the hash is stored, so reading the table does not reveal a live link.
    - `rate#<scope>#<digest>#<window>`: a request counter, raised by conditional UpdateItem (`n`).

    DynamoDB's TTL removes both (`expires`: a link 30 days after it stopped working, a counter after its window).
    """

    Meta = _meta("replies")
    key = UnicodeAttribute(hash_key=True)
    escalation_id = UnicodeAttribute(null=True)
    recipient = UnicodeAttribute(null=True)  # the notification's recipient key
    recipient_role = UnicodeAttribute(null=True)
    bapas_id = UnicodeAttribute(null=True)
    valid_until = UnicodeAttribute(null=True)  # UTC RFC 3339
    created_at = UnicodeAttribute(null=True)
    n = NumberAttribute(null=True)
    expires = TTLAttribute(null=True)


MODELS: tuple[type[Model], ...] = (BapasModel, ClientModel, AuditModel, VillageContactModel, AreaContactModel,
                                   CounterModel, RecordModel, EscalationModel, NotificationModel, TaskModel,
                                   TransferModel, ReplyModel)


# ----- small codecs every service shares ----------------------------------------------------------------

M = TypeVar("M", bound=Model)


def get_or_none(model: type[M], *key: str, consistent_read: bool = False) -> M | None:
    """One GetItem: the item, or None when there is none."""
    try:
        return model.get(*key, consistent_read=consistent_read)
    except model.DoesNotExist:
        return None


def plain(value: Any) -> Any:
    """A stored map (a MapAttribute, nested ones and lists included) as plain dicts and lists."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def record_time_key(at: datetime, kind: str, record_id: str) -> str:
    """A record's `time_key` (the `time-index` LSI, the client's timeline): "<UTC time>#<kind>#<id>"."""
    return f"{to_key_time(at)}#{kind}#{record_id}"


def record_kind_time(kind: str, at: datetime, record_id: str) -> str:
    """A record's `kind_time` (the `kind-time-index` LSI, a list of one kind): "<kind>#<UTC time>#<id>"."""
    return f"{kind}#{to_key_time(at)}#{record_id}"
