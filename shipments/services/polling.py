"""The poll cycle: claim due shipments, ask the carriers, apply the answers.

Safe on many processes and machines: a claim is `SELECT … FOR UPDATE SKIP
LOCKED` plus a lease (owner, until) written in a short transaction that
commits before any carrier call, together with the send time
(`last_polled_at`); a crashed worker's lease simply expires, and the
numbers it was asking wait out the carrier's minimum interval from that
send time, so no number is asked twice inside it.
Carrier calls run in a bounded thread pool with no transaction open and
never touch the database; results are applied in the calling thread, only
to shipments this worker still holds, idempotently (services/tracking.py).

`poll_once` is the unit of work of a poll cycle: like a CLI command or a job,
it commits, because the claim must be committed before the carriers are asked.
"""
from __future__ import annotations

import logging
import math
import os
import queue
import random
import socket
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
from sqlalchemy import case, literal, or_, select, text, update

from integrations import registry
from integrations.errors import ProviderError, RateLimited
from integrations.models import InvalidNumber, NeedsPhone, NotFoundYet, TrackRequest
from shipments.db import utcnow
from shipments.models import Shipment
from shipments.models.enums import TERMINAL_STATUSES, EventSource, SubscriptionState
from shipments.services import carriers, poll_log, tracking, webhooks
from shipments.services.network.matching import station_names
from shipments.services.quotas import CircuitBreaker, ProviderQuotas
from shipments.services.schedule import PollPolicy

log = logging.getLogger(__name__)
_rng = random.Random()
APPLY_WINDOW = 0.05  # seconds to gather answers into one commit
# At most this many shipments applied per commit, so the claiming loop comes back often enough to
# keep the carriers' queues full (a backlog of answers is applied a slice at a time).
APPLY_MAX_SHIPMENTS = 100

# Written out as in the partial index ix_shipments_due, so PostgreSQL can prove
# the index applies (a bound parameter list would hide the values from it).
LIVE_SQL = text("shipments.status NOT IN ({})".format(
    ", ".join(f"'{s.value}'" for s in sorted(TERMINAL_STATUSES))))


def lease_owner_name() -> str:
    """A lease owner id unique to this process and cycle: host:pid:random."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Claim:
    """A leased shipment, as plain values the carrier threads can use."""

    id: int
    provider: str
    carrier: str
    number: str
    phone_last4: str | None
    registered_at: datetime
    subscription_state: SubscriptionState
    last_polled_at: datetime | None

    def request(self) -> TrackRequest:
        return TrackRequest(carrier=self.carrier, number=self.number, phone_last4=self.phone_last4,
                            registered_at=self.registered_at)


def claim_due_shipments(session, *, owner: str, now: datetime, limit: int, lease_seconds: float,
                        providers) -> list[Claim]:
    """Lease up to `limit` due shipments of `providers` to `owner`; the caller commits at once."""
    providers = list(providers)
    if not providers or limit <= 0:
        return []
    due = (
        select(Shipment.id)
        .where(
            LIVE_SQL,
            Shipment.next_poll_at <= now,
            Shipment.stop_reason.is_(None),
            Shipment.provider.in_(providers),
            or_(Shipment.lease_until.is_(None), Shipment.lease_until < now),
        )
        .order_by(Shipment.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # dropped on SQLite, where writers are serialised anyway
    )
    ids = list(session.scalars(due))
    if not ids:
        return []
    session.execute(
        update(Shipment).where(Shipment.id.in_(ids))
        # A lease is bookkeeping, not a change of the shipment: keep updated_at.
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                updated_at=Shipment.updated_at)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Shipment.id, Shipment.provider, Shipment.carrier, Shipment.tracking_number,
               Shipment.tracked_carrier, Shipment.tracked_number, Shipment.phone_last4,
               Shipment.registered_at, Shipment.subscription_state, Shipment.last_polled_at)
        .where(Shipment.id.in_(ids)).order_by(Shipment.next_poll_at, Shipment.id)
    )
    claims = []
    for row in rows:
        carrier, number = row.carrier, row.tracking_number
        # After a 转投 follow the new carrier's number; the sandbox simulates a
        # parcel's whole life, hand-over included, under its own number.
        if row.tracked_number and row.provider != carriers.SANDBOX:
            carrier, number = row.tracked_carrier or carrier, row.tracked_number
        claims.append(Claim(row.id, row.provider, carrier, number, row.phone_last4, row.registered_at,
                            SubscriptionState(row.subscription_state), row.last_polled_at))
    return claims


def release_claims(session, ids, owner: str, *, next_poll_at: datetime | None = None) -> None:
    """Give leased shipments back (still due, or due at `next_poll_at`)."""
    if not ids:
        return
    values = {"lease_owner": None, "lease_until": None, "updated_at": Shipment.updated_at}
    if next_poll_at is not None:
        values["next_poll_at"] = next_poll_at
    session.execute(update(Shipment).where(Shipment.id.in_(list(ids)), Shipment.lease_owner == owner)
                    .values(**values).execution_options(synchronize_session=False))


@dataclass
class ProviderSummary:
    claimed: int = 0
    polled: int = 0
    updated: int = 0
    failed: int = 0
    subscribed: int = 0
    deferred: int = 0  # given back without a call (circuit open, out of time, needs phone …)


@dataclass
class PollSummary:
    """What one cycle did, per provider."""

    owner: str
    providers: dict[str, ProviderSummary] = field(default_factory=lambda: defaultdict(ProviderSummary))
    circuits: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    threads: int = 0

    def total(self, name: str) -> int:
        return sum(getattr(p, name) for p in self.providers.values())

    @property
    def claimed(self):
        return self.total("claimed")

    @property
    def polled(self):
        return self.total("polled")

    @property
    def updated(self):
        return self.total("updated")

    @property
    def failed(self):
        return self.total("failed")

    def as_dict(self) -> dict:
        return {
            "owner": self.owner, "claimed": self.claimed, "polled": self.polled, "updated": self.updated,
            "failed": self.failed, "seconds": round(self.seconds, 3), "threads": self.threads,
            "circuits": dict(self.circuits),
            "providers": {name: vars(p).copy() for name, p in sorted(self.providers.items())},
        }


@dataclass
class _Task:
    provider: str
    kind: str  # "track" or "subscribe"
    claims: list[Claim]


@dataclass
class _Done:
    task: _Task
    outcomes: list | None = None
    error: BaseException | None = None
    deferred: str | None = None  # why no call was made
    # For the poll log: when the call went out, how long it took, the last HTTP status.
    sent_at: datetime | None = None
    duration_ms: int = 0
    http_status: int | None = None


def build_provider(name: str, settings: dict, config, session=None):
    """A provider client for `name` with the configured timeout (credentials from settings)."""
    extra = {"session": session} if session is not None else {}
    return registry.get_provider(name, timeout=float(config["POLL_HTTP_TIMEOUT"]), **settings, **extra)


class QuotaWait(Exception):
    """No quota slot before the call's deadline (or the worker is stopping): try later."""


# The quota permit of the request this thread is writing, logged as sent once the write is done.
_writing = threading.local()


class _LogsWrittenRequest:
    """A urllib3 connection that logs its thread's quota permit as sent right after writing a request:
    the quota counts the time the request left, not when its permit was granted."""

    def request(self, *args, **kwargs):
        try:
            return super().request(*args, **kwargs)
        finally:  # written, or failed while writing: either way nothing more of it can leave later
            permit = getattr(_writing, "permit", None)
            if permit is not None:
                _writing.permit = None
                permit.quotas.sent(permit)


class _QuotaHTTPConnection(_LogsWrittenRequest, urllib3.connection.HTTPConnection):
    pass


class _QuotaHTTPSConnection(_LogsWrittenRequest, urllib3.connection.HTTPSConnection):
    pass


class _QuotaHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _QuotaHTTPConnection


class _QuotaHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _QuotaHTTPSConnection


class QuotaAdapter(requests.adapters.HTTPAdapter):
    """Takes a quota permit for every HTTP request a provider sends, right before it goes out,
    and logs the request as sent once it has been written to the socket.

    The quota counts send times, where the carrier counts arrivals: a thread
    delayed between its permit and its write (CPU, GIL) is counted from when
    its request really left (services/quotas.py), and every request is counted
    (17TRACK's register-then-retry included). Requests never retries here
    (max_retries 0), so one permit is one request.
    """

    def __init__(self, quotas: ProviderQuotas, provider: str, stop: threading.Event):
        super().__init__(pool_connections=1, pool_maxsize=2)
        self.quotas, self.provider, self.stop = quotas, provider, stop
        self.deadline: float | None = None

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _QuotaHTTPPool, "https": _QuotaHTTPSPool}

    def send(self, request, **kwargs):
        permit = self.quotas.permit(self.provider, deadline=self.deadline, stop=self.stop)
        if permit is None:
            raise QuotaWait(self.provider)
        _writing.permit = permit
        try:
            return super().send(request, **kwargs)
        finally:
            # Not logged by our connection (a proxy's pool, a failure before the write): now is
            # after anything of it that left, the safe side.
            _writing.permit = None
            self.quotas.sent(permit)


def push_callback_url(config, provider: str) -> str | None:
    """Where `provider` should push updates, or None when this service is not reachable."""
    base = config.get("PUBLIC_BASE_URL")
    return f"{base.rstrip('/')}/api/v1/integrations/{provider}/push" if base else None


class _Cycle:
    def __init__(self, session, config, owner, stop, clock):
        self.session, self.config, self.owner, self.stop, self.clock = session, config, owner, stop, clock
        self.policy = PollPolicy.from_config(config)
        self.settings = carriers.provider_settings(config)
        self.quotas = ProviderQuotas.from_config(config)
        self.breaker = CircuitBreaker.from_config(config)
        self.summary = PollSummary(owner)
        self.lease_seconds = float(config["POLL_LEASE_SECONDS"])
        self.timeout = float(config["POLL_HTTP_TIMEOUT"])
        self._local = threading.local()
        self._clients = []
        self._clients_lock = threading.Lock()
        self.outstanding: set[int] = set()

    # -- carrier side (worker threads: no database here) ----------------------
    def _client(self, name):
        """This thread's client for `name` and its quota adapter (None without HTTP)."""
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        if name not in clients:
            adapter = session = None
            if name != carriers.SANDBOX:
                adapter = QuotaAdapter(self.quotas, name, self.stop)
                session = requests.Session()
                session.hooks["response"].append(self._remember_status)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
            clients[name] = (build_provider(name, self.settings[name], self.config, session=session), adapter)
            with self._clients_lock:
                self._clients.append(clients[name][0])
        return clients[name]

    def _remember_status(self, response, *args, **kwargs):
        self._local.http_status = response.status_code

    def _call(self, task: _Task, call_deadline: float) -> _Done:
        self._local.http_status = None
        sent_at, started = self.clock(), time.monotonic()
        done = self._call_provider(task, call_deadline)
        done.sent_at, done.http_status = sent_at, self._local.http_status
        done.duration_ms = round((time.monotonic() - started) * 1000)
        return done

    def _call_provider(self, task: _Task, call_deadline: float) -> _Done:
        if self.stop.is_set():
            return _Done(task, deferred="stop")
        if not self.breaker.allow(task.provider):
            return _Done(task, deferred="circuit")
        try:
            client, adapter = self._client(task.provider)
            if adapter is not None:
                adapter.deadline = call_deadline
            if task.kind == "subscribe":
                claim = task.claims[0]
                outcomes = [client.subscribe(claim.request(), push_callback_url(self.config, task.provider))]
            else:
                outcomes = client.track([c.request() for c in task.claims])
        except QuotaWait:
            return _Done(task, deferred="time")  # out of time waiting for the quota: not a failure
        except Exception as exc:  # every failure is the shipments' to record, never the cycle's end
            # Recorded here, not when applied: the next call of this thread must see it.
            self.breaker.record_failure(task.provider, _describe(exc))
            return _Done(task, error=exc)
        self.breaker.record_success(task.provider)
        return _Done(task, outcomes)

    # -- database side (calling thread) --------------------------------------
    def run(self, pool) -> PollSummary:
        started = time.monotonic()
        cycle_deadline = started + float(self.config["POLL_CYCLE_SECONDS"])
        # Claim the next batch while this one's last calls are still going, so the
        # carriers see a steady stream instead of a pause at every claim. Counted in calls
        # not answered yet, not in answers not applied yet: a slow database (or a starved
        # process) must not leave the carriers idle while it catches up. The backlog of
        # claimed shipments stays under two claims, well inside the lease.
        low_water = 2 * self.summary.threads
        backlog = 2 * int(self.config["POLL_CLAIM_SIZE"])
        answers = queue.SimpleQueue()
        remaining, exhausted = 0, False
        try:
            while True:
                unanswered = remaining - answers.qsize()
                if (unanswered <= low_water and len(self.outstanding) < backlog and not exhausted
                        and not self.stop.is_set() and time.monotonic() < cycle_deadline):
                    added = self._claim_and_submit(pool, answers)
                    exhausted = added is None
                    remaining += added or 0
                    continue
                if not remaining:
                    break
                # Apply answers in groups, one commit each: the first answer, plus whatever
                # else arrives within APPLY_WINDOW (a commit per shipment would cost more).
                batch = [answers.get()]
                shipments = len(batch[0].task.claims)
                until = time.monotonic() + APPLY_WINDOW
                while len(batch) < remaining and shipments < APPLY_MAX_SHIPMENTS:
                    try:
                        batch.append(answers.get(timeout=max(0.0, until - time.monotonic())))
                    except queue.Empty:
                        break
                    shipments += len(batch[-1].task.claims)
                remaining -= len(batch)
                self._apply_batch(batch)
                self.session.commit()
                exhausted = False  # an answer can make a shipment due at once (a 转投 hand-over)
        finally:
            if self.outstanding:
                self.session.rollback()
                release_claims(self.session, self.outstanding, self.owner)
                self.session.commit()
            for client in self._clients:
                client.close()
        self.summary.seconds = time.monotonic() - started
        self.summary.circuits = {name: self.breaker.state(name) for name in self.settings}
        return self.summary

    def _claim_and_submit(self, pool, answers) -> int | None:
        """Claim a batch and hand its calls to the pool; None when nothing is due."""
        enabled = [name for name in self.settings if not self.breaker.is_open(name)]
        if not enabled:
            return None
        claimed_at = time.monotonic()
        claims = claim_due_shipments(self.session, owner=self.owner, now=self.clock(),
                                     limit=int(self.config["POLL_CLAIM_SIZE"]),
                                     lease_seconds=self.lease_seconds, providers=enabled)
        self.session.commit()
        if not claims:
            return None
        self.outstanding.update(c.id for c in claims)
        tasks = self._plan(claims)
        self.session.commit()
        # Stop calling well before the lease runs out, so no other worker can
        # have re-claimed a shipment while we still ask about it.
        call_deadline = claimed_at + self.lease_seconds - 2 * self.timeout - 1
        for task in tasks:
            pool.submit(self._call_into, answers, task, call_deadline)
        return len(tasks)

    def _call_into(self, answers, task, call_deadline):
        try:
            answers.put(self._call(task, call_deadline))
        except BaseException as exc:  # never leave the applying thread waiting
            answers.put(_Done(task, error=exc))

    def _plan(self, claims) -> list[_Task]:
        """Split claims into carrier calls; settle those that need no call."""
        now = self.clock()
        tracks, tasks = defaultdict(list), []
        callback_ok = bool(self.config.get("PUBLIC_BASE_URL"))
        for claim in claims:
            self.summary.providers[claim.provider].claimed += 1
            if registry.needs_phone(claim.carrier, claim.provider) and not claim.phone_last4:
                self._settle_without_call(claim, NeedsPhone(claim.request(), "phone_last4 needed"), now)
                continue
            gap = self.policy.min_interval.get(claim.provider)
            if gap and claim.last_polled_at and now - claim.last_polled_at < timedelta(seconds=gap):
                # Due early (a push reset, a hand-over): wait for the number's interval.
                self._defer([claim], claim.last_polled_at + timedelta(seconds=gap))
                continue
            client_cls = registry.PROVIDERS[claim.provider]
            if (client_cls.supports_push and callback_ok
                    and claim.subscription_state == SubscriptionState.NONE):
                tasks.append(_Task(claim.provider, "subscribe", [claim]))
            else:
                tracks[claim.provider].append(claim)
        for name, group in tracks.items():
            size = self.quotas.batch_size(name, registry.PROVIDERS[name].max_batch)
            tasks.extend(_Task(name, "track", group[i:i + size]) for i in range(0, len(group), size))
        # The send time is on record before any call (the caller commits now): a
        # worker killed mid-call leaves it behind, and whoever claims these
        # numbers next waits out the carrier's minimum interval from it.
        asked = [c.id for task in tasks for c in task.claims]
        if asked:
            self.session.execute(update(Shipment).where(Shipment.id.in_(asked))
                                 .values(last_polled_at=now, updated_at=Shipment.updated_at)
                                 .execution_options(synchronize_session=False))
        return tasks

    def _defer(self, claims, next_poll_at=None):
        """Give claims back without a call: their send time goes back to the last real one."""
        ids = [c.id for c in claims]
        self.session.execute(
            update(Shipment).where(Shipment.id.in_(ids), Shipment.lease_owner == self.owner)
            .values(last_polled_at=case({c.id: literal(c.last_polled_at, Shipment.last_polled_at.type) for c in claims}, value=Shipment.id,
                                        else_=Shipment.last_polled_at),
                    updated_at=Shipment.updated_at)
            .execution_options(synchronize_session=False))
        release_claims(self.session, ids, self.owner, next_poll_at=next_poll_at)
        self.outstanding.difference_update(ids)
        for claim in claims:
            self.summary.providers[claim.provider].deferred += 1

    def _settle_without_call(self, claim, problem, now):
        shipment = self._held([claim]).get(claim.id)
        if shipment is not None:
            tracking.apply_track_outcome(self.session, shipment, problem, source=EventSource.POLL,
                                         now=now, policy=self.policy)
            shipment.last_polled_at = claim.last_polled_at  # no call was made
            self._unlease(shipment)
        self.summary.providers[claim.provider].deferred += 1

    def _held(self, claims) -> dict[int, Shipment]:
        """The claimed shipments this worker still holds, locked for the update."""
        ids = [c.id for c in claims]
        rows = self.session.scalars(
            select(Shipment).where(Shipment.id.in_(ids), Shipment.lease_owner == self.owner).with_for_update()
        )
        held = {s.id: s for s in rows}
        for claim in claims:
            if claim.id not in held:
                self.outstanding.discard(claim.id)
                log.warning("shipment %s: lease lost before its %s answer was applied", claim.id, claim.provider)
        return held

    def _unlease(self, shipment):
        shipment.lease_owner = None
        shipment.lease_until = None
        self.outstanding.discard(shipment.id)

    def _apply_batch(self, batch):
        now = self.clock()
        for done in [d for d in batch if d.deferred]:
            if done.deferred == "circuit":
                retry = self.breaker.open_seconds * (1 + _rng.random() / 2)
                self._defer(done.task.claims, now + timedelta(seconds=retry))
            else:
                self._defer(done.task.claims)
        batch = [d for d in batch if not d.deferred]
        if not batch:
            return
        held = self._held([c for d in batch for c in d.task.claims])
        # What applying every answer reads, looked up once for the batch before anything changes:
        # a look-up per parcel would autoflush that parcel's changes, one UPDATE per parcel.
        station_names(self.session)
        with webhooks.subscribers_preloaded(self.session, {s.organisation_id for s in held.values()}):
            savepoint = self.session.begin_nested()
            try:
                counts = [self._apply(done, held, now) for done in batch]
                savepoint.commit()
            except Exception:  # bad data from a carrier must not stop the cycle: redo one by one
                savepoint.rollback()
                self.session.expire_all()
                counts = [self._apply_alone(done, now) for done in batch]
        self._log_polls(batch)
        for done, (polled, updated, subscribed, failed) in zip(batch, counts):
            stats = self.summary.providers[done.task.provider]
            stats.polled += polled
            stats.updated += updated
            stats.subscribed += subscribed
            stats.failed += failed

    def _log_polls(self, batch):
        """One poll log row per shipment asked about (calls that were sent only)."""
        rows = []
        for done in batch:
            task = done.task
            for i, claim in enumerate(task.claims):
                if done.error is not None:
                    outcome, error = poll_log.PollOutcome.ERROR, _describe(done.error)
                else:
                    answer = done.outcomes[i] if i < len(done.outcomes) else None
                    outcome, error = poll_log.outcome_of(task.kind, answer), getattr(answer, "message", None)
                rows.append(poll_log.poll_row(
                    claim.id, sent_at=done.sent_at or self.clock(), provider=task.provider, kind=task.kind,
                    outcome=outcome, duration_ms=done.duration_ms, http_status=done.http_status, error=error))
        poll_log.record_polls(self.session, rows)

    def _apply_alone(self, done, now):
        held = self._held(done.task.claims)
        savepoint = self.session.begin_nested()
        try:
            counts = self._apply(done, held, now)
            savepoint.commit()
            return counts
        except Exception as exc:
            savepoint.rollback()
            log.exception("applying %s answers failed", done.task.provider)
            self.session.expire_all()
            return self._apply(_Done(done.task, error=exc), self._held(done.task.claims), now)

    def _apply(self, done: _Done, held, now) -> tuple[int, int, int, int]:
        """Apply one call's answers to the shipments still held; (polled, updated, subscribed, failed)."""
        task = done.task
        if done.error is not None:
            return 0, 0, 0, self._failed(task, held, done.error, now)
        polled = updated = subscribed = 0
        for claim, outcome in zip(task.claims, done.outcomes):
            shipment = held.get(claim.id)
            if shipment is None:
                continue
            if task.kind == "subscribe":
                changed = self._subscribed(shipment, outcome, now)
                subscribed += outcome is None
            else:
                changed = tracking.apply_track_outcome(
                    self.session, shipment, outcome, source=EventSource.POLL, now=now, policy=self.policy,
                ).changed
                polled += 1
            updated += bool(changed)
            self._unlease(shipment)
        return polled, updated, subscribed, 0

    def _subscribed(self, shipment, problem, now) -> bool:
        if problem is None:
            shipment.subscription_state = SubscriptionState.SUBSCRIBED
            shipment.subscribed_at = now
            shipment.updated_at = now
            tracking.reschedule(shipment, now, self.policy)  # polled only as a fallback now
            return True
        if isinstance(problem, (InvalidNumber, NeedsPhone)):
            return tracking.apply_track_outcome(self.session, shipment, problem, source=EventSource.POLL,
                                                now=now, policy=self.policy).changed
        if isinstance(problem, NotFoundYet):
            # The provider did not answer for this number: subscribe again at the next poll.
            return tracking.apply_track_outcome(self.session, shipment, problem, source=EventSource.POLL,
                                                now=now, policy=self.policy).changed
        log.warning("shipment %s: %s subscription refused: %s", shipment.id, shipment.provider,
                    getattr(problem, "message", problem))
        shipment.subscription_state = SubscriptionState.FAILED
        shipment.next_poll_at = now  # poll it the ordinary way instead
        shipment.updated_at = now
        return True

    def _failed(self, task, held, error, now) -> int:
        cause = _describe(error)
        retry_after = error.retry_after if isinstance(error, RateLimited) else None
        failed = 0
        for claim in task.claims:
            shipment = held.get(claim.id)
            if shipment is None:
                continue
            tracking.record_poll_failure(shipment, cause, now=now, policy=self.policy, retry_after=retry_after)
            self._unlease(shipment)
            failed += 1
            log.warning("shipment %s (%s): poll via %s failed: %s; retry at %s", shipment.id, task.kind,
                        task.provider, cause, shipment.next_poll_at)
        return failed


def _describe(error: BaseException) -> str:
    # Provider errors are scrubbed of credentials by the provider; others are ours.
    if isinstance(error, ProviderError):
        return f"{type(error).__name__}: {error}"[:200]
    return f"{type(error).__name__}: {str(error)[:150]}"


def poll_once(session, config, *, owner: str | None = None, stop: threading.Event | None = None,
              clock=utcnow) -> PollSummary:
    """Run one poll cycle: claim, call and apply until nothing is due (or time is up)."""
    stop = stop or threading.Event()
    cycle = _Cycle(session, config, owner or lease_owner_name(), stop, clock)
    cycle.summary.threads = poll_threads(config, cycle.settings)
    with ThreadPoolExecutor(max_workers=cycle.summary.threads, thread_name_prefix="poll") as pool:
        return cycle.run(pool)


def poll_threads(config, providers) -> int:
    """Threads for a cycle: Q x POLL_CALL_SECONDS x 1.5 calls in flight per enabled provider with a
    quota, so each can be kept at its quota; at least POLL_THREADS, at most POLL_THREADS_MAX."""
    seconds = float(config["POLL_CALL_SECONDS"])
    needed = sum(math.ceil(float(rate) * seconds * 1.5) for name, rate in (config["POLL_RATE"] or {}).items()
                 if rate and name in providers)
    return max(int(config["POLL_THREADS"]), min(int(config["POLL_THREADS_MAX"]), needed))


def reassign_providers(session, config, *, limit: int = 1000) -> int:
    """Give live shipments whose provider is unassigned or switched off an enabled one, due now."""
    enabled = carriers.provider_settings(config)
    rows = session.scalars(
        select(Shipment).where(LIVE_SQL, Shipment.provider.not_in(list(enabled)),
                               Shipment.stop_reason.is_(None)).limit(limit)
    )
    moved = 0
    now = utcnow()
    for shipment in rows:
        chosen = carriers.choose_provider(shipment.carrier, shipment.tracking_number, enabled)
        if chosen != carriers.UNASSIGNED and chosen != shipment.provider:
            shipment.provider = chosen
            shipment.subscription_state = SubscriptionState.NONE
            shipment.next_poll_at = now
            shipment.updated_at = now
            moved += 1
    return moved
