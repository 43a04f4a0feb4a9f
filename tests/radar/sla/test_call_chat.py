"""Call and chat metrics: answer, abandon (before and after the short-abandon threshold),
callback, hold (announced and not), chat wait and response."""

from __future__ import annotations

from radar.events import Author, Direction, EventType
from radar.sla.records import SlaKind
from tests.radar.sla.scenario import Scenario

E = EventType
POLICIES = """
policies:
  - name: chats
    match: {channel: chat}
    targets: {chat_wait_time: 2m, chat_response_time: 90s}
  - name: calls
    match: {channel: call}
    targets: {call_answer_time: 3m, call_hold_time: 2m, callback_time: 2h}
queues:
  default: {short_abandon: 10s}
grace: 0s
"""


def call(s: Scenario, at: str, interaction: str = "CALL1") -> Scenario:
    return s.send(E.CALL_QUEUED, at, interaction, direction=Direction.INBOUND)


def test_an_answered_call_meets_its_target() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_ANSWERED, "2026-02-02T09:01:00", "CALL1", agent_id="A7")
    achieved = s.only(SlaKind.ACHIEVED, "call_answer_time")
    assert (achieved.elapsed_ms, achieved.owner) == (60_000, "A7")


def test_a_caller_hanging_up_within_the_short_abandon_threshold_is_owed_nothing() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_ABANDONED, "2026-02-02T09:00:05", "CALL1").until("2026-02-02T12:00")
    assert s.kinds() == ["fulfilled"]


def test_an_abandon_past_the_target_is_a_breach_and_owes_a_callback() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_ABANDONED, "2026-02-02T09:04:00", "CALL1")
    assert s.kinds("call_answer_time") == ["warning", "warning", "breach", "fulfilled"]
    s.send(E.CALL_QUEUED, "2026-02-02T09:30:00", "CALL2", direction=Direction.OUTBOUND)
    callback = s.only(SlaKind.ACHIEVED, "callback_time")
    assert (callback.interaction_id, callback.elapsed_ms) == ("CALL1", 26 * 60_000)


def test_an_abandon_after_the_threshold_with_no_callback_breaches_callback_time() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_ABANDONED, "2026-02-02T09:01:00", "CALL1").until("2026-02-02T11:30")
    assert s.kinds("call_answer_time") == ["fulfilled"]  # 60 s: before the 90 s warning
    assert s.only(SlaKind.BREACH, "callback_time").due_at == s.t("2026-02-02T11:01")


def test_a_callback_request_starts_callback_time() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_CALLBACK_REQUESTED, "2026-02-02T09:00:30", "CALL1")
    s.send(E.CALL_QUEUED, "2026-02-02T09:10:00", "CALL9", direction=Direction.OUTBOUND)
    assert s.only(SlaKind.ACHIEVED, "callback_time").elapsed_ms == 570_000


def test_a_hold_longer_than_announced_is_a_breach() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_ANSWERED, "2026-02-02T09:00:10", "CALL1", agent_id="A1")
    s.send(E.CALL_HOLD_STARTED, "2026-02-02T09:02:00", "CALL1", announced_seconds=60)
    s.send(E.CALL_HOLD_ENDED, "2026-02-02T09:03:30", "CALL1")
    breach = s.only(SlaKind.BREACH, "call_hold_time")
    assert (breach.due_at, breach.target_ms) == (s.t("2026-02-02T09:03:00"), 60_000)
    assert s.only(SlaKind.ACHIEVED, "call_hold_time").late is True


def test_an_unannounced_hold_uses_the_policy_maximum() -> None:
    s = call(Scenario(POLICIES), "2026-02-02T09:00:00")
    s.send(E.CALL_HOLD_STARTED, "2026-02-02T09:02:00", "CALL1")
    s.send(E.CALL_HOLD_ENDED, "2026-02-02T09:03:30", "CALL1")
    held = s.only(SlaKind.ACHIEVED, "call_hold_time")
    assert (held.target_ms, held.late) == (120_000, False)


def test_chat_wait_and_response() -> None:
    s = Scenario(POLICIES)
    s.send(E.CHAT_REQUESTED, "2026-02-02T09:00:00", "CHAT1")
    s.send(E.CHAT_ACCEPTED, "2026-02-02T09:03:00", "CHAT1", agent_id="A2")
    assert s.kinds("chat_wait_time") == ["warning", "warning", "breach", "achieved"]
    s.send(E.CHAT_MESSAGE, "2026-02-02T09:04:00", "CHAT1", author=Author.CUSTOMER)
    s.send(E.CHAT_MESSAGE, "2026-02-02T09:04:30", "CHAT1", author=Author.CUSTOMER)
    s.send(E.CHAT_MESSAGE, "2026-02-02T09:05:00", "CHAT1", author=Author.AGENT, agent_id="A2")
    assert s.kinds("chat_response_time") == ["customer_chase", "warning", "achieved"]
    assert s.only(SlaKind.ACHIEVED, "chat_response_time").elapsed_ms == 60_000
    s.send(E.CHAT_ENDED, "2026-02-02T09:06:00", "CHAT1")
    assert "CHAT1" not in s.engine.interactions
