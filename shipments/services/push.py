"""Carrier push callbacks: verify, find the shipments, apply through services/tracking."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import or_, select

from integrations import registry
from integrations.errors import AuthError
from shipments.db import utcnow
from shipments.models import Shipment
from shipments.models.enums import EventSource
from shipments.services import carriers, tracking
from shipments.services.polling import build_provider
from shipments.services.schedule import PollPolicy

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UnknownPushProvider(LookupError):
    """No enabled provider by that name takes pushes."""


class PushRejected(ValueError):
    """The push failed verification (bad or missing signature, unreadable body)."""


class PushMalformed(ValueError):
    """A genuine (signed) push whose content is not in the provider's documented shape."""


@dataclass
class PushReport:
    results: int = 0
    matched: int = 0
    unknown: int = 0
    updated: int = 0


def push_client(config, provider: str):
    """The client of an enabled, push-capable provider; UnknownPushProvider otherwise."""
    settings = carriers.provider_settings(config)
    cls = registry.PROVIDERS.get(provider)
    if cls is None or not cls.supports_push or provider not in settings:
        raise UnknownPushProvider(provider)
    return build_provider(provider, settings[provider], config)


def _find_shipment(session, provider: str, carrier: str, number: str) -> Shipment | None:
    candidates = list(session.scalars(
        select(Shipment).where(Shipment.provider == provider,
                               or_(Shipment.tracking_number == number, Shipment.tracked_number == number))
        .order_by(Shipment.id).with_for_update()
    ))
    if len(candidates) > 1:
        same = [s for s in candidates if carrier in (s.carrier, s.tracked_carrier)]
        candidates = same or candidates
    return candidates[0] if candidates else None


def handle_push(session, config, client, body: bytes, headers) -> PushReport:
    """Verify a push with `client` and apply its results; PushRejected when it is not genuine."""
    try:
        results = client.parse_push(body, headers)
    except AuthError as exc:
        raise PushRejected(str(exc)) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as exc:
        # Signed but not in the documented shape (a JSON list, "time": "yesterday"):
        # retrying will not fix it, so it is refused rather than failed.
        raise PushMalformed(f"{exc.__class__.__name__}: {str(exc)[:120]}") from None
    policy = PollPolicy.from_config(config)
    report = PushReport(results=len(results))
    now = utcnow()
    # Oldest news first: what a push says is applied in the order it happened.
    for result in sorted(results, key=lambda r: r.latest_event_time or _EPOCH):
        shipment = _find_shipment(session, client.code, result.carrier, result.number)
        if shipment is None:
            report.unknown += 1
            log.info("%s push for a number we do not track (ignored)", client.code)
            continue
        report.matched += 1
        applied = tracking.apply_track_outcome(session, shipment, result, source=EventSource.PUSH, now=now,
                                               policy=policy, push_capable=True)
        report.updated += applied.changed
    return report
