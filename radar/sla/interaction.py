"""What every call, chat and ticket has in common: its policy and its running SLA timers.

Subclasses decide *when* a metric starts, pauses or stops; this class turns those decisions
into timers and records (warnings, breach, escalations, achieved, fulfilled, retracted).
Each method takes ``at`` (the event time the fact belongs to) and ``now`` (when the engine
learnt it: the record's ``detected_at``).
"""

from __future__ import annotations

from collections.abc import Iterable

from radar.calendar import CALENDAR_TIME
from radar.events import Channel, Event, Priority
from radar.policies import Metric, Policy, PolicySet
from radar.records import record_id
from radar.sla.records import SlaKind, SlaRecord
from radar.sla.timer import RunningTimers, SlaTimer, TimerProgress


class InteractionSla:
    channel: Channel
    # slotted: one per open interaction, tens of thousands per shard
    __slots__ = (
        "customer_id",
        "cycles",
        "interaction_id",
        "owner",
        "policies",
        "policy",
        "priority",
        "queue",
        "scheduled_at",
        "tier",
        "timers",
    )

    def __init__(self, interaction_id: str, policies: PolicySet) -> None:
        self.interaction_id = interaction_id
        self.policies = policies
        self.policy: Policy | None = None
        self.customer_id: str | None = None
        self.queue: str | None = None
        self.owner: str | None = None
        self.priority: Priority | None = None
        self.tier: str | None = None
        self.timers = RunningTimers()
        self.scheduled_at: int | None = None  # the engine's: its entry in the deadline heap
        # cycles of metrics whose timer stopped; most open work has none, and an empty
        # mapping per interaction costs more than its timer
        self.cycles: dict[Metric, int] | None = None

    # -- facts from events -------------------------------------------------------------

    def note(self, event: Event) -> None:
        """Keep what the records need from any event of this interaction."""
        self.customer_id = event.customer_id or self.customer_id
        self.queue = event.queue or self.queue

    def select_policy(self) -> None:
        self.policy = self.policies.select(self.channel, self.priority, self.queue, self.tier)

    def on_event(self, event: Event, now: int) -> list[SlaRecord]:
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        """True once nothing can start again: the engine may forget it."""
        return False

    def expires_at(self) -> int | None:
        """When the engine may forget it even though it could still change (see tickets)."""
        return None

    # -- timer transitions -------------------------------------------------------------

    def start(
        self,
        metric: Metric,
        at: int,
        now: int,
        *,
        fixed_due: int | None = None,
    ) -> list[SlaRecord]:
        """Start ``metric`` (a new cycle); a running one is fulfilled first.

        A metric runs when the policy has a target for it, or when the event itself sets the
        due time (``fixed_due``: a promised date, an announced hold).
        """
        target = self.policy.targets.get(metric) if self.policy else None
        if self.policy is None or (target is None and fixed_due is None):
            return []
        records = self.end(metric, at, now) if self.timers.runs(metric) else []
        if fixed_due is not None:
            target_ms = max(0, fixed_due - at)
        else:
            assert target is not None
            target_ms = target.duration_ms
        self.timers.put(
            SlaTimer(
                metric,
                (self.cycles.get(metric, 0) if self.cycles else 0) + 1,
                at,
                target_ms,
                self.policy.clock(target) if target else CALENDAR_TIME,
                bool(target and target.business),
                None if fixed_due is None else TimerProgress(fixed_due=fixed_due),
            )
        )
        return records

    def achieve(self, metric: Metric, at: int, now: int) -> list[SlaRecord]:
        timer = self._stop(metric)
        if timer is None:
            return []
        records = []
        late = timer.is_late(at)
        if late and timer.breach_id is None:
            records.append(self._breach(timer, at, now))
        elif not late and timer.breach_id is not None:
            records.append(
                self._record(timer, SlaKind.RETRACTED, at, now, retracts=timer.breach_id)
            )
        records.append(self._record(timer, SlaKind.ACHIEVED, at, now, late=late))
        return records

    def end(self, metric: Metric, at: int, now: int) -> list[SlaRecord]:
        """The target stops applying (solved, ended) without being met or missed now."""
        timer = self._stop(metric)
        if timer is None:
            return []
        if timer.is_late(at) and timer.breach_id is None:
            return [self._breach(timer, at, now), self._record(timer, SlaKind.FULFILLED, at, now)]
        return [self._record(timer, SlaKind.FULFILLED, at, now)]

    def _stop(self, metric: Metric) -> SlaTimer | None:
        timer = self.timers.take(metric)
        if timer is not None:
            if self.cycles is None:
                self.cycles = {}
            self.cycles[metric] = timer.cycle
        return timer

    def end_all(self, metrics: Iterable[Metric], at: int, now: int) -> list[SlaRecord]:
        return [r for m in list(metrics) if self.timers.runs(m) for r in self.end(m, at, now)]

    def pause(self, metrics: Iterable[Metric], at: int) -> None:
        for metric in metrics:
            if (timer := self.timers.get(metric)) is not None:
                timer.pause(at)

    def resume(self, metrics: Iterable[Metric], at: int) -> None:
        for metric in metrics:
            if (timer := self.timers.get(metric)) is not None:
                timer.resume(at)

    def reselect(self, at: int, now: int) -> list[SlaRecord]:
        """A new priority: the first matching policy again, targets recomputed from each
        timer's original start, with the time already paused kept."""
        self.select_policy()
        records: list[SlaRecord] = []
        for timer in list(self.timers):
            metric = timer.metric
            target = self.policy.targets.get(metric) if self.policy else None
            if timer.fixed_due is not None:
                continue
            if target is None:
                records += self.end(metric, at, now)
                continue
            timer.target_ms = target.duration_ms
        return records

    # -- deadlines ---------------------------------------------------------------------

    def next_deadline(self) -> int | None:
        earliest = None
        for timer in self.timers:
            instant = self._next_instant(timer)
            if instant is not None and (earliest is None or instant < earliest):
                earliest = instant
        return earliest

    def _next_instant(self, timer: SlaTimer) -> int | None:
        """The timer's next instant to speak: its first warning not yet given (warnings are
        sorted, and a smaller fraction comes first on any clock), else its due time; after a
        breach, its next escalation. None while paused."""
        assert self.policy is not None
        if timer.breach_id is None:
            fired = timer.fired_warnings  # read once: a property, on the hot path
            for fraction in self.policy.warnings:
                if fraction not in fired:
                    return timer.warning_at(fraction)
            return timer.due_at()
        due = timer.due_at()
        if due is None:
            return None
        reached = timer.escalated_to
        escalations = [due + e.after_ms for e in self.policy.escalations if e.level > reached]
        return min(escalations, default=None)

    def fire(self, upto: int, now: int) -> list[SlaRecord]:
        """Every warning, breach and escalation whose instant is at or before ``upto``."""
        records: list[SlaRecord] = []
        for timer in list(self.timers):
            records += self._fire_timer(timer, upto, now)
        return records

    def _fire_timer(self, timer: SlaTimer, upto: int, now: int) -> list[SlaRecord]:
        assert self.policy is not None
        records = []
        for fraction in self.policy.warnings:
            at = timer.warning_at(fraction)
            if fraction not in timer.fired_warnings and at is not None and at <= upto:
                timer.warned(frozenset((fraction,)))
                if timer.breach_id is None:
                    records.append(self._record(timer, SlaKind.WARNING, at, now, fraction=fraction))
        due = timer.due_at()
        if due is None or due > upto:
            return records
        if timer.breach_id is None:
            records.append(self._breach(timer, due, now))
        for escalation in self.policy.escalations:
            if escalation.level > timer.escalated_to and due + escalation.after_ms <= upto:
                timer.escalated(escalation.level)
                records.append(
                    self._record(
                        timer,
                        SlaKind.ESCALATION,
                        due + escalation.after_ms,
                        now,
                        level=escalation.level,
                        group=escalation.group,
                    )
                )
        return records

    # -- records -----------------------------------------------------------------------

    def _breach(self, timer: SlaTimer, at: int, now: int) -> SlaRecord:
        """Breached at its due time; a paused timer found over its target, at ``at``."""
        due = timer.due_at()
        record = self._record(timer, SlaKind.BREACH, due if due is not None else at, now, level=1)
        timer.breached(record.id, frozenset(self.policy.warnings if self.policy else ()))
        return record

    def _record(
        self,
        timer: SlaTimer,
        kind: SlaKind,
        at: int,
        now: int,
        *,
        fraction: float | None = None,
        level: int | None = None,
        late: bool | None = None,
        retracts: str | None = None,
        group: str | None = None,
        discriminator: object = "",
    ) -> SlaRecord:
        assert self.policy is not None
        return SlaRecord(
            id=record_id(
                self.interaction_id,
                timer.metric,
                timer.cycle,
                kind,
                fraction or level or "",
                discriminator,
            ),
            kind=kind,
            policy=self.policy.name,
            metric=timer.metric.value,
            channel=self.channel.value,
            cycle=timer.cycle,
            interaction_id=self.interaction_id,
            customer_id=self.customer_id,
            queue=self.queue,
            owner=self.owner,
            group=group or self.policy.group,
            target_ms=timer.target_ms,
            elapsed_ms=timer.elapsed(at),
            started_at=timer.started_at,
            due_at=timer.due_at(),
            occurred_at=at,
            detected_at=now,
            business_hours=timer.business,
            fraction=fraction,
            level=level,
            late=late,
            retracts=retracts,
        )

    def chase(self, metric: Metric, event: Event, now: int) -> list[SlaRecord]:
        """The customer wrote again while ``metric`` (a reply) was owed. The message that
        made the reply owed (a ticket's opening message, exported with the ticket at the same
        instant) is not a chase: the customer must write after it."""
        timer = self.timers.get(metric)
        if timer is None or event.occurred_at <= timer.started_at:
            return []
        return [
            self._record(
                timer, SlaKind.CUSTOMER_CHASE, event.occurred_at, now, discriminator=event.event_id
            )
        ]
