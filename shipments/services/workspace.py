"""The livestream seller's workspace: many orders at a glance, grouped by session."""
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shipments.models import Shipment
from shipments.models.enums import ShipmentStatus
from shipments.services.access import Caller

# The seller's six columns, in the order a parcel moves through them.
GROUPS = ("awaiting_pickup", "in_transit", "out_for_delivery", "at_station", "delivered", "exception")
GROUP_OF_STATUS = {
    ShipmentStatus.PENDING: "awaiting_pickup",
    ShipmentStatus.INFO_RECEIVED: "awaiting_pickup",
    ShipmentStatus.IN_TRANSIT: "in_transit",
    ShipmentStatus.OUT_FOR_DELIVERY: "out_for_delivery",
    ShipmentStatus.AVAILABLE_FOR_PICKUP: "at_station",
    ShipmentStatus.DELIVERED: "delivered",
    ShipmentStatus.ATTEMPT_FAIL: "exception",
    ShipmentStatus.EXCEPTION: "exception",
    ShipmentStatus.RETURNING: "exception",
    ShipmentStatus.RETURNED: "exception",
    ShipmentStatus.EXPIRED: "exception",
    ShipmentStatus.CANCELLED: "exception",
}
NO_LABEL = ""  # shipments registered without a session label
_SPLIT = re.compile(r"[\s,;，；、]+")


@dataclass(frozen=True)
class SellerRow:
    shipment: Shipment
    group: str
    late: bool
    pickup_overdue: bool

    @property
    def needs_attention(self) -> bool:
        """Late, overdue for pickup, or in trouble: shown first."""
        return self.late or self.pickup_overdue or self.group == "exception"


@dataclass
class SessionBatch:
    label: str
    rows: list[SellerRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GROUPS, 0))
    pickup_overdue: int = 0
    late: int = 0
    attention: int = 0


# After a number, 4 digits or a phone (13912345678, 139****5678) are its recipient's phone.
_PHONE = re.compile(r"^(?:\d{4}|1\d{10}|1\d{2}\*{4}\d{4})$")


def split_numbers(text: str, limit: int) -> list[tuple[str, str | None]]:
    """Split pasted text into (number, phone or None) pairs, keeping order, no repeated numbers.

    Anything between spaces, commas or new lines is a number, except 4 digits
    or a phone right after a number: those are that number's phone digits
    ("SF1234567890123 5678"). Raises ValueError when there are more than `limit`.
    """
    pairs: dict[str, str | None] = {}
    last = None
    for part in (p for p in _SPLIT.split(text or "") if p):
        if last is not None and _PHONE.match(part):
            pairs[last] = pairs[last] or part
            last = None
            continue
        pairs.setdefault(part, None)
        last = part
    if len(pairs) > limit:
        raise ValueError(f"at most {limit} numbers at once, got {len(pairs)}")
    return list(pairs.items())


def scoped_shipments(caller: Caller) -> Select:
    """Select the shipments the caller may see."""
    query = select(Shipment)
    if not caller.sees_everything:
        query = query.where(Shipment.organisation_id == caller.organisation_id)
    return query


def list_sessions(caller: Caller) -> Select:
    """Select (label, parcels, last registered) per livestream session label, latest first."""
    label = func.coalesce(Shipment.batch_label, NO_LABEL)
    return (
        select(label.label("label"), func.count().label("parcels"), func.max(Shipment.registered_at).label("last"))
        .where(Shipment.organisation_id == caller.organisation_id)
        .group_by(label)
        .order_by(func.max(Shipment.registered_at).desc())
    )


def _row(shipment: Shipment) -> SellerRow:
    return SellerRow(shipment, GROUP_OF_STATUS[ShipmentStatus(shipment.status)],
                     late=shipment.late_flagged_at is not None,
                     pickup_overdue=shipment.pickup_overdue_at is not None)


def seller_batches(session: Session, caller: Caller, labels: list[str], limit: int = 5000) -> list[SessionBatch]:
    """The caller's parcels of these session labels, grouped; problems first within each."""
    wanted = [label for label in labels if label != NO_LABEL]
    query = select(Shipment).where(Shipment.organisation_id == caller.organisation_id)
    condition = Shipment.batch_label.in_(wanted)
    if NO_LABEL in labels:
        condition = condition | Shipment.batch_label.is_(None)
    shipments = session.scalars(query.where(condition).order_by(Shipment.registered_at, Shipment.id).limit(limit))
    batches = {label: SessionBatch(label) for label in labels}
    for shipment in shipments:
        row = _row(shipment)
        batch = batches[shipment.batch_label or NO_LABEL]
        batch.rows.append(row)
        batch.counts[row.group] += 1
        batch.pickup_overdue += row.pickup_overdue
        batch.late += row.late
        batch.attention += row.needs_attention
    for batch in batches.values():
        # Stable sort: attention first, then by column order, then registration order.
        batch.rows.sort(key=lambda r: (not r.needs_attention, not r.late, GROUPS.index(r.group)))
    return list(batches.values())


def batches_workbook(batches: list[SessionBatch], headers: dict[str, str], group_names: dict[str, str],
                     timezone: str) -> bytes:
    """An XLSX of the seller table (no recipient data), with the column titles given."""
    tz = ZoneInfo(timezone)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(headers["sheet"])
    columns = ("session", "carrier", "number", "order_ref", "group", "status", "late", "pickup_overdue",
               "registered_at", "last_event_at")
    sheet.append([headers[c] for c in columns])

    def local(value: datetime | None):
        return value.astimezone(tz).replace(tzinfo=None) if value else None

    for batch in batches:
        for row in batch.rows:
            s = row.shipment
            sheet.append([batch.label, s.carrier, s.tracking_number, s.order_ref or "", group_names[row.group],
                          str(s.status), headers["yes"] if row.late else "",
                          headers["yes"] if row.pickup_overdue else "", local(s.registered_at),
                          local(s.last_event_at)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
