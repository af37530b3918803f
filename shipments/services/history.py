"""A shipment's edit history (绩效可追): every field changed after registration, old → new, by whom, through what.

Written by the services that change a registration (update_shipment,
cancel_shipment, the import's "digits added"), in the same transaction as
the change, so a change is never without its row. Officials read it masked:
the recipient's data (phone digits, order reference) never shows, the cancel
reason is masked like a carrier's text.
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shipments.models import ApiToken, ShipmentChange, User
from shipments.services.masking import mask_text

SOURCES = ("form", "api", "paste", "import")  # the portal's forms, the API, the seller paste, an upload
# Columns whose values are the recipient's data: officials see that they changed, not what to.
PERSONAL = frozenset({"phone_last4", "order_ref"})
HIDDEN = "***"


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)[:200]


def source_of(caller) -> str:
    """The channel a caller's change came through: a token is the API, a login the portal's forms."""
    return "api" if caller is not None and caller.token_id else "form"


def record_changes(session: Session, shipment_id: int, changes: list[tuple[str, object, object]], *, source: str,
                   user_id: int | None, token_id: int | None, now: datetime) -> int:
    """Add one history row per (column, old, new) that really changed; return how many."""
    rows = [ShipmentChange(shipment_id=shipment_id, changed_at=now, source=source, user_id=user_id,
                           token_id=token_id, field=column, old_value=_text(old), new_value=_text(new))
            for column, old, new in changes if _text(old) != _text(new)]
    session.add_all(rows)
    return len(rows)


def shipment_history(shipment_id: int) -> Select:
    """Select a shipment's changes, newest first, with who made them (user name, token label)."""
    return (select(ShipmentChange, User.username, ApiToken.name.label("token_name"), ApiToken.prefix)
            .outerjoin(User, User.id == ShipmentChange.user_id)
            .outerjoin(ApiToken, ApiToken.id == ShipmentChange.token_id)
            .where(ShipmentChange.shipment_id == shipment_id)
            .order_by(ShipmentChange.changed_at.desc(), ShipmentChange.id.desc()))


def history_rows(session: Session, shipment_id: int, masked: bool, limit: int = 200) -> list[dict]:
    """A shipment's changes as plain dicts, newest first (masked for officials)."""
    rows = []
    for change, username, token_name, prefix in session.execute(shipment_history(shipment_id).limit(limit)):
        old, new = change.old_value, change.new_value
        if masked and change.field in PERSONAL:
            old, new = old and HIDDEN, new and HIDDEN
        elif masked:
            old, new = mask_text(old), mask_text(new)
        rows.append({"changed_at": change.changed_at, "field": change.field, "old": old, "new": new,
                     "source": change.source, "user": username,
                     "token": f"{token_name} ({prefix}…)" if prefix else None})
    return rows
