"""Follow-up after an escalation: how an escalation ends, and what the village may answer.

Pure domain values (standard library only), shared by the schemas, the services and the reply page.
"""

from __future__ import annotations

# `POST /v1/escalations/{id}/resolve` `resolution`: free text goes in `notes` only.
RESOLUTIONS = ("contact_restored", "found_at_home", "moved", "absconded", "violation_referred", "other")

# What a Bhabinkamtibmas, Polsek/Polres contact or village office answers through the reply link.
ANSWERS = ("found", "not_found", "moved", "other")
