"""An organisation's webhook subscriptions: create, change, rotate the secret, test, read the log, redeliver.

Every function takes the organisation id of the caller and only ever reads
or changes that organisation's subscriptions. The caller commits.
"""
from __future__ import annotations

import ipaddress
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Select, select, update

from shipments.models import WebhookDelivery, WebhookSubscription
from shipments.models.enums import DeliveryState, ShipmentStatus
from shipments.services.webhooks import outbox
from shipments.services.webhooks.addresses import AddressRefused, check_url, is_loopback_host, is_public

EVENTS = outbox.EVENTS
SECRET_PREFIX = "whsec_"
MAX_PER_ORGANISATION = 20


class SubscriptionError(ValueError):
    """A subscription request that cannot be honoured; names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def is_production(config) -> bool:
    """Production mode: neither DEBUG nor TESTING (https required outside loopback)."""
    return not (config.get("DEBUG") or config.get("TESTING"))


def new_secret() -> str:
    """A fresh signing secret (shown to the subscriber once)."""
    return SECRET_PREFIX + secrets.token_hex(24)


def check_target(url: str, config) -> str:
    """Check a target URL for a subscription (form, https, address); return it. Raises SubscriptionError.

    Literal addresses and loopback names are checked here; names are resolved
    and checked at every delivery (what a name points to can change).
    """
    url = (url or "").strip()
    if len(url) > 500:
        raise SubscriptionError("url", "at most 500 characters")
    try:
        _scheme, host, _port = check_url(url, production=is_production(config))
        if not config.get("WEBHOOK_ALLOW_PRIVATE"):
            if is_loopback_host(host):
                raise AddressRefused("loopback addresses are refused")
            literal = host.strip("[]")
            if _is_address(literal) and not is_public(literal):
                raise AddressRefused(f"non-public address ({literal}) refused")
    except AddressRefused as exc:
        raise SubscriptionError("url", str(exc)) from None
    return url


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_events(events, statuses) -> tuple[list[str], list[str]]:
    events = list(dict.fromkeys(events or []))
    if not events:
        raise SubscriptionError("events", "choose at least one event")
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise SubscriptionError("events", f"unknown events: {', '.join(unknown)}; known: {', '.join(EVENTS)}")
    statuses = list(dict.fromkeys(statuses or []))
    known = {s.value for s in ShipmentStatus}
    bad = [s for s in statuses if s not in known]
    if bad:
        raise SubscriptionError("statuses", f"unknown statuses: {', '.join(bad)}")
    return events, statuses


def create_subscription(session, organisation_id: int, *, url: str, events, statuses=(), description=None,
                        config, now: datetime) -> tuple[WebhookSubscription, str]:
    """Create an active subscription; return it and its secret (shown once)."""
    url = check_target(url, config)
    events, statuses = _check_events(events, statuses)
    count = session.scalar(select(WebhookSubscription.id).where(
        WebhookSubscription.organisation_id == organisation_id).offset(MAX_PER_ORGANISATION - 1).limit(1))
    if count is not None:
        raise SubscriptionError("url", f"at most {MAX_PER_ORGANISATION} subscriptions per organisation")
    secret = new_secret()
    subscription = WebhookSubscription(
        organisation_id=organisation_id, url=url, events=events, statuses=statuses,
        description=(description or None) and description[:100], secret=secret, active=True,
        created_at=now, updated_at=now)
    session.add(subscription)
    session.flush()
    return subscription, secret


def update_subscription(session, subscription: WebhookSubscription, changes: dict, *, config,
                        now: datetime) -> WebhookSubscription:
    """Change url, events, statuses, description or active; re-enabling clears the failure record."""
    if "url" in changes:
        subscription.url = check_target(changes["url"], config)
    if "events" in changes or "statuses" in changes:
        subscription.events, subscription.statuses = _check_events(
            changes.get("events", subscription.events), changes.get("statuses", subscription.statuses))
    if "description" in changes:
        subscription.description = (changes["description"] or None) and changes["description"][:100]
    if "active" in changes and bool(changes["active"]) != subscription.active:
        subscription.active = bool(changes["active"])
        if subscription.active:
            subscription.disabled_at = subscription.disabled_reason = subscription.failing_since = None
        else:
            subscription.disabled_at, subscription.disabled_reason = now, "manual"
    subscription.updated_at = now
    return subscription


def rotate_secret(subscription: WebhookSubscription, *, grace: timedelta, now: datetime) -> str:
    """Give the subscription a new secret; the old one keeps signing for `grace`. Return the new secret."""
    secret = new_secret()
    subscription.previous_secret = subscription.secret
    subscription.previous_secret_until = now + grace
    subscription.secret = secret
    subscription.updated_at = now
    return secret


def delete_subscription(session, subscription: WebhookSubscription) -> None:
    """Delete a subscription with its delivery log."""
    session.execute(WebhookDelivery.__table__.delete().where(
        WebhookDelivery.__table__.c.subscription_id == subscription.id))
    session.delete(subscription)


def list_subscriptions(organisation_id: int) -> Select:
    """Select an organisation's subscriptions, oldest first."""
    return (select(WebhookSubscription).where(WebhookSubscription.organisation_id == organisation_id)
            .order_by(WebhookSubscription.id))


def find_subscription(organisation_id: int, subscription_id: int) -> Select:
    """Select one subscription of the organisation (none when it is another's)."""
    return select(WebhookSubscription).where(WebhookSubscription.id == subscription_id,
                                             WebhookSubscription.organisation_id == organisation_id)


def delivery_log(subscription_id: int, *, before_id: int | None = None, state: str | None = None) -> Select:
    """Select a subscription's deliveries, newest first, keyset-paged by id (before_id)."""
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    if state:
        query = query.where(WebhookDelivery.state == DeliveryState(state))
    return query.order_by(WebhookDelivery.id.desc())


def send_test(session, subscription: WebhookSubscription, *, now: datetime) -> WebhookDelivery:
    """Queue a `webhook.test` delivery for the subscription (the worker sends it at once)."""
    return outbox.record_test(session, subscription, now=now)


def redeliver(session, subscription: WebhookSubscription, *, now: datetime, delivery_id: int | None = None) -> int:
    """Queue one delivery (any state) or all failed ones again; return how many."""
    table = WebhookDelivery
    query = update(table).where(table.subscription_id == subscription.id)
    if delivery_id is not None:
        query = query.where(table.id == delivery_id)
    else:
        query = query.where(table.state == DeliveryState.FAILED)
    result = session.execute(
        query.values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now, lease_owner=None,
                     lease_until=None)
        .execution_options(synchronize_session=False))
    return result.rowcount
