"""The delivery worker: claim due deliveries, send them signed, record the answers.

Safe on many processes: a claim is `SELECT … FOR UPDATE SKIP LOCKED` plus a
lease (owner, until) committed before anything is sent, as the poller
does; a killed worker's leases expire and its deliveries go out again
(with the same event id: receivers deduplicate on X-Yuexiang-Event-Id).
On PostgreSQL the claim also locks each subscription it claims for (SKIP
LOCKED), so the in-flight count per subscriber is exact across processes.

Per subscriber at most WEBHOOK_MAX_IN_FLIGHT deliveries are in flight at a
time, so a slow or dead receiver holds at most that many of the worker's
threads and never delays the others. Requests go out from a bounded pool of
threads with short timeouts, no redirects, and the SSRF guard of
addresses.py; nothing there touches the database.

Answers: 2xx delivered; 408 and 429 retried after Retry-After (or the
backoff); other 3xx/4xx failed at once; 5xx, timeouts and connection errors
retried with exponential backoff and jitter (1 min doubling, at most
WEBHOOK_RETRY_MAX_SECONDS apart) until WEBHOOK_MAX_ATTEMPTS, then failed. A
subscription failing without a single success for
WEBHOOK_DISABLE_AFTER_DAYS is disabled; the portal shows the organisation
why.

`deliver_once` is the unit of work of the `webhook_deliveries` job; like
the poll cycle it commits (claims must be committed before sending).
"""
from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from sqlalchemy import bindparam, func, or_, select, text, update

from shipments.db import utcnow
from shipments.models import WebhookDelivery, WebhookSubscription
from shipments.models.enums import DeliveryState
from shipments.services.polling import lease_owner_name
from shipments.services.webhooks.addresses import AddressRefused, GuardedAdapter, check_url, resolve_checked
from shipments.services.webhooks.signing import signature_header
from shipments.services.webhooks.subscriptions import is_production

log = logging.getLogger(__name__)
_rng = random.Random()
USER_AGENT = "Yuexiang-Webhooks/1.0"
APPLY_WINDOW = 0.02  # seconds to gather finished sends into one commit
CLAIM_GAP = 0.05  # at most one claim query per this many seconds while sends are in flight


@dataclass(frozen=True)
class Claim:
    """A leased delivery, as plain values the sending threads can use."""

    id: int
    subscription_id: int
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    event: str
    event_id: str
    payload: str
    attempts: int


@dataclass
class Outcome:
    claim: Claim
    status_code: int | None = None
    duration_ms: int = 0
    error: str | None = None
    retry_after: float | None = None
    refused: bool = False  # the address was refused: never sent


@dataclass
class DeliverySummary:
    """What one cycle did."""

    owner: str
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # lease lost before the answer was recorded
    disabled: list[int] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()} | {"seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class RetryPolicy:
    base: float
    max_delay: float
    max_attempts: int
    jitter: float = 0.2

    @classmethod
    def from_config(cls, config) -> "RetryPolicy":
        return cls(float(config["WEBHOOK_RETRY_BASE_SECONDS"]), float(config["WEBHOOK_RETRY_MAX_SECONDS"]),
                   int(config["WEBHOOK_MAX_ATTEMPTS"]))

    def delay(self, attempts: int, rng: random.Random = _rng, retry_after: float | None = None) -> float:
        """Seconds before the next try after `attempts` failed ones (Retry-After wins when given)."""
        if retry_after is not None:
            return min(max(retry_after, 1.0), self.max_delay)
        nominal = min(self.base * 2 ** (attempts - 1), self.max_delay)
        return nominal * (1 + self.jitter * (2 * rng.random() - 1))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def classify(outcome: Outcome) -> str:
    """delivered, retry or failed, from an answer."""
    code = outcome.status_code
    if outcome.refused:
        return "failed"
    if code is None:
        return "retry"  # timeout or connection error
    if 200 <= code < 300:
        return "delivered"
    if code in (408, 429) or code >= 500:
        return "retry"
    return "failed"  # other 4xx, and 3xx: redirects are not followed


# -- claiming ------------------------------------------------------------------
def _due(now):
    return (WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now))


# Raw SQL because the ORM cannot say a LATERAL join whose inner SELECT locks
# (FOR UPDATE SKIP LOCKED): one round trip takes the oldest due deliveries of
# every subscriber, each through ix_webhook_deliveries_due.
_PG_CLAIM = text("""
SELECT d.id, d.subscription_id
FROM unnest(CAST(:ids AS integer[])) AS s(id)
CROSS JOIN LATERAL (
    SELECT id, subscription_id FROM webhook_deliveries
    WHERE subscription_id = s.id AND state = 'pending' AND next_attempt_at <= :now
      AND (lease_until IS NULL OR lease_until < :now)
    ORDER BY next_attempt_at
    LIMIT :per
    FOR UPDATE SKIP LOCKED
) AS d
""")


def claim_due_deliveries(session, *, owner: str, now: datetime, limit: int, per_subscriber: int,
                         lease_seconds: float) -> list[Claim]:
    """Lease up to `limit` due deliveries to `owner`, at most `per_subscriber` in flight each; caller commits."""
    if limit <= 0:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    subs = select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True))
    if postgres:
        # NO KEY UPDATE: the outbox inserts of changes being committed hold KEY SHARE
        # locks on their subscriptions (the foreign key); a plain FOR UPDATE would
        # skip every subscriber while changes stream in.
        subs = subs.with_for_update(skip_locked=True, key_share=True)
    sub_ids = list(session.scalars(subs))
    if not sub_ids:
        return []
    busy = dict(session.execute(
        select(WebhookDelivery.subscription_id, func.count())
        .where(WebhookDelivery.lease_owner.is_not(None), WebhookDelivery.lease_until >= now,
               WebhookDelivery.state == DeliveryState.PENDING)
        .group_by(WebhookDelivery.subscription_id)).all())
    free = {sid: per_subscriber - busy.get(sid, 0) for sid in sub_ids}
    sub_ids = [sid for sid in sub_ids if free[sid] > 0]
    _rng.shuffle(sub_ids)  # no subscriber always first when the limit cuts
    picked: list[int] = []
    if postgres and sub_ids:
        rows = session.execute(_PG_CLAIM, {"ids": sub_ids, "now": now, "per": per_subscriber}).all()
        taken: dict[int, int] = {}
        order = {sid: i for i, sid in enumerate(sub_ids)}
        for row in sorted(rows, key=lambda r: order[r.subscription_id]):
            if taken.get(row.subscription_id, 0) < free[row.subscription_id] and len(picked) < limit:
                taken[row.subscription_id] = taken.get(row.subscription_id, 0) + 1
                picked.append(row.id)
    else:
        for sid in sub_ids:
            if len(picked) >= limit:
                break
            picked.extend(session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == sid, *_due(now))
                .order_by(WebhookDelivery.next_attempt_at).limit(min(free[sid], limit - len(picked)))))
    if not picked:
        return []
    session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(picked))
                    .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds))
                    .execution_options(synchronize_session=False))
    rows = session.execute(
        select(WebhookDelivery.id, WebhookDelivery.subscription_id, WebhookDelivery.event,
               WebhookDelivery.event_id, WebhookDelivery.payload, WebhookDelivery.attempts,
               WebhookSubscription.url, WebhookSubscription.secret, WebhookSubscription.previous_secret,
               WebhookSubscription.previous_secret_until)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id.in_(picked)).order_by(WebhookDelivery.id))
    return [Claim(r.id, r.subscription_id, r.url, r.secret, r.previous_secret, r.previous_secret_until,
                  r.event, r.event_id, r.payload, r.attempts) for r in rows]


def release_claims(session, ids, owner: str) -> None:
    """Give leased deliveries back, due as they were."""
    if ids:
        session.execute(update(WebhookDelivery)
                        .where(WebhookDelivery.id.in_(list(ids)), WebhookDelivery.lease_owner == owner)
                        .values(lease_owner=None, lease_until=None).execution_options(synchronize_session=False))


# -- sending (threads: no database here) -----------------------------------------
class Sender:
    """Signs and sends one delivery; a requests session per thread, with the SSRF guard."""

    def __init__(self, config, clock=utcnow):
        self.allow_private = bool(config.get("WEBHOOK_ALLOW_PRIVATE"))
        self.production = is_production(config)
        self.timeout = (float(config["WEBHOOK_CONNECT_TIMEOUT"]), float(config["WEBHOOK_TIMEOUT"]))
        self.max_bytes = int(config["WEBHOOK_MAX_RESPONSE_BYTES"])
        self.clock = clock
        self._local = threading.local()
        self._sessions = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # no proxies from the environment: the guard must see the real peer
            adapter = GuardedAdapter(allow_private=self.allow_private)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self):
        for session in self._sessions:
            session.close()

    def send(self, claim: Claim) -> Outcome:
        started = time.monotonic()
        try:
            _scheme, host, port = check_url(claim.url, production=self.production)
            resolve_checked(host, port, allow_private=self.allow_private)
        except AddressRefused as exc:
            return Outcome(claim, error=f"refused: {exc}"[:200], refused=True)
        body = claim.payload.encode("utf-8")
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Yuexiang-Event": claim.event,
            "X-Yuexiang-Event-Id": claim.event_id,
            "X-Yuexiang-Timestamp": str(timestamp),
            "X-Yuexiang-Signature": signature_header(claim.secret, claim.previous_secret,
                                                     claim.previous_secret_until, timestamp, body, self.clock()),
            "X-Yuexiang-Attempt": str(claim.attempts + 1),
        }
        deadline = started + self.timeout[0] + self.timeout[1]
        try:
            response = self._session().post(claim.url, data=body, headers=headers, timeout=self.timeout,
                                            allow_redirects=False, stream=True)
            try:
                read = 0
                for chunk in response.iter_content(8192):
                    read += len(chunk)
                    # A trickling receiver must not hold the thread past the timeout.
                    if read > self.max_bytes or time.monotonic() > deadline:
                        break
            finally:
                response.close()
        except AddressRefused as exc:
            return Outcome(claim, error=f"refused: {exc}"[:200], refused=True,
                           duration_ms=_ms(started))
        except requests.Timeout:
            return Outcome(claim, error=f"timeout after {self.timeout[1]:g} s", duration_ms=_ms(started))
        except requests.RequestException as exc:
            return Outcome(claim, error=f"{type(exc).__name__}: {str(exc)[:150]}", duration_ms=_ms(started))
        retry_after = None
        if response.status_code in (408, 429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock())
        error = None if response.ok else f"HTTP {response.status_code}"
        if 300 <= response.status_code < 400:
            error = f"HTTP {response.status_code}: redirects are not followed"
        return Outcome(claim, response.status_code, _ms(started), error, retry_after)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# -- recording (calling thread) --------------------------------------------------
_RECORD = (
    update(WebhookDelivery.__table__)
    .where(WebhookDelivery.__table__.c.id == bindparam("b_id"),
           WebhookDelivery.__table__.c.lease_owner == bindparam("b_owner"))
    .values(state=bindparam("b_state"), attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"), lease_owner=None, lease_until=None,
            last_attempt_at=bindparam("b_at"), last_status_code=bindparam("b_code"),
            last_duration_ms=bindparam("b_ms"), last_error=bindparam("b_error"),
            delivered_at=bindparam("b_delivered"))
)


def record_outcomes(session, outcomes, *, owner: str, now: datetime, policy: RetryPolicy,
                    disable_after: timedelta, summary: DeliverySummary) -> None:
    """Write what each send got, and each subscriber's health (auto-disable after `disable_after`)."""
    params, ok_subs, bad_subs = [], set(), set()
    for outcome in outcomes:
        claim = outcome.claim
        attempts = claim.attempts + 1
        verdict = classify(outcome)
        if verdict == "retry" and attempts >= policy.max_attempts:
            verdict = "failed"
        next_at = None
        if verdict == "retry":
            next_at = now + timedelta(seconds=policy.delay(attempts, retry_after=outcome.retry_after))
        state = {"delivered": DeliveryState.DELIVERED, "retry": DeliveryState.PENDING,
                 "failed": DeliveryState.FAILED}[verdict]
        params.append({"b_id": claim.id, "b_owner": owner, "b_state": state.value, "b_attempts": attempts,
                       "b_next": next_at, "b_at": now, "b_code": outcome.status_code,
                       "b_ms": outcome.duration_ms, "b_error": outcome.error and outcome.error[:200],
                       "b_delivered": now if verdict == "delivered" else None})
        (ok_subs if verdict == "delivered" else bad_subs).add(claim.subscription_id)
        counter = {"delivered": "delivered", "retry": "retried", "failed": "failed"}[verdict]
        setattr(summary, counter, getattr(summary, counter) + 1)
        if verdict != "delivered":
            log.info("webhook delivery %s (subscription %s, %s): %s -> %s", claim.id, claim.subscription_id,
                     claim.event, outcome.error, verdict)
    if params:
        result = session.connection().execute(_RECORD, params)
        summary.lost += max(0, len(params) - result.rowcount) if result.rowcount >= 0 else 0
    subs = WebhookSubscription
    if ok_subs:
        # Written when it tells something: a recovery, or a minute since the last note.
        session.execute(update(subs).where(subs.id.in_(sorted(ok_subs)),
                                           or_(subs.failing_since.is_not(None), subs.last_success_at.is_(None),
                                               subs.last_success_at < now - timedelta(minutes=1)))
                        .values(last_success_at=now, failing_since=None, updated_at=subs.updated_at)
                        .execution_options(synchronize_session=False))
    bad_subs -= ok_subs  # any success in the batch: the receiver is alive
    if bad_subs:
        session.execute(update(subs).where(subs.id.in_(sorted(bad_subs)))
                        .values(last_failure_at=now, failing_since=func.coalesce(subs.failing_since, now),
                                updated_at=subs.updated_at)
                        .execution_options(synchronize_session=False))
        disabled = session.scalars(
            update(subs).where(subs.id.in_(sorted(bad_subs)), subs.active.is_(True),
                               subs.failing_since <= now - disable_after)
            .values(active=False, disabled_at=now, disabled_reason="failing", updated_at=now)
            .returning(subs.id).execution_options(synchronize_session=False)).all()
        for sid in disabled:
            log.warning("webhook subscription %s disabled: failing since more than %s", sid, disable_after)
        summary.disabled.extend(disabled)


# -- the cycle -------------------------------------------------------------------
class _Cycle:
    def __init__(self, session, config, owner, stop, clock, until_idle):
        self.session, self.config, self.owner, self.stop, self.clock = session, config, owner, stop, clock
        self.until_idle = until_idle
        self.policy = RetryPolicy.from_config(config)
        self.disable_after = timedelta(days=float(config["WEBHOOK_DISABLE_AFTER_DAYS"]))
        self.threads = int(config["WEBHOOK_THREADS"])
        self.per_subscriber = int(config["WEBHOOK_MAX_IN_FLIGHT"])
        self.lease_seconds = float(config["WEBHOOK_LEASE_SECONDS"])
        self.idle_poll = float(config["WEBHOOK_IDLE_POLL_SECONDS"])
        self.cycle_seconds = float(config["WEBHOOK_CYCLE_SECONDS"])
        self.sender = Sender(config, clock)
        self.summary = DeliverySummary(owner)

    def run(self) -> DeliverySummary:
        started = time.monotonic()
        deadline = started + self.cycle_seconds
        in_flight: dict = {}
        last_claim = float("-inf")
        low_water = max(1, self.threads // 2)
        pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="webhook")
        try:
            while True:
                claiming = not self.stop.is_set() and time.monotonic() < deadline
                if claiming and len(in_flight) <= low_water and time.monotonic() - last_claim >= CLAIM_GAP:
                    last_claim = time.monotonic()
                    claims = claim_due_deliveries(
                        self.session, owner=self.owner, now=self.clock(), limit=2 * self.threads - len(in_flight),
                        per_subscriber=self.per_subscriber, lease_seconds=self.lease_seconds)
                    self.session.commit()
                    self.summary.claimed += len(claims)
                    for claim in claims:
                        in_flight[pool.submit(self.sender.send, claim)] = claim
                    if not claims and not in_flight:
                        if self.until_idle:
                            break
                        self.stop.wait(self.idle_poll)
                        continue
                if not in_flight:
                    if not claiming:
                        break
                    self.stop.wait(CLAIM_GAP)
                    continue
                done, _ = wait(list(in_flight), timeout=self.idle_poll, return_when=FIRST_COMPLETED)
                if not done:
                    continue
                if len(done) < len(in_flight):  # one commit for the sends finishing together
                    wait([f for f in in_flight if f not in done], timeout=APPLY_WINDOW, return_when=ALL_COMPLETED)
                done = [f for f in in_flight if f.done()]
                outcomes = []
                for future in done:
                    claim = in_flight.pop(future)
                    try:
                        outcomes.append(future.result())
                    except Exception as exc:  # a bug in sending must not lose the delivery
                        outcomes.append(Outcome(claim, error=f"{type(exc).__name__}: {str(exc)[:150]}"))
                record_outcomes(self.session, outcomes, owner=self.owner, now=self.clock(), policy=self.policy,
                                disable_after=self.disable_after, summary=self.summary)
                self.session.commit()
        finally:
            if in_flight:  # only on an error: hand the unfinished ones back
                self.session.rollback()
                release_claims(self.session, [c.id for c in in_flight.values()], self.owner)
                self.session.commit()
            pool.shutdown(wait=True, cancel_futures=True)
            self.sender.close()
        self.summary.seconds = time.monotonic() - started
        return self.summary


def any_active_subscription(session) -> bool:
    """Whether any subscription is active (the job skips its cycle, and its claim queries, when none is)."""
    return session.scalar(select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True)).limit(1)) \
        is not None


def deliver_once(session, config, *, owner: str | None = None, stop: threading.Event | None = None,
                 clock=utcnow, until_idle: bool = True) -> DeliverySummary:
    """Send due deliveries until none is due (until_idle) or the cycle's time is up; commits as it goes."""
    cycle = _Cycle(session, config, owner or lease_owner_name(), stop or threading.Event(), clock, until_idle)
    return cycle.run()
