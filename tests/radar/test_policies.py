"""Policy files: the shipped example loads; mistakes are named by file, key path and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from radar.detector_settings import ChurnSettings
from radar.events import Channel, Priority
from radar.policies import PolicyError, load_policies, parse_policies

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "policies.yaml"
ONE = "policies: [{name: a, targets: {}}]"


def _policy_name(channel: Channel, priority: Priority | None, queue: str) -> str | None:
    policy = load_policies(EXAMPLE).select(channel, priority, queue, None)
    return policy.name if policy else None


def test_the_example_loads_and_selects_in_order() -> None:
    assert _policy_name(Channel.TICKET, Priority.URGENT, "billing") == "urgent-tickets"
    assert _policy_name(Channel.TICKET, Priority.LOW, "billing") == "tickets"
    assert _policy_name(Channel.CALL, None, "vip") == "calls"
    policies = load_policies(EXAMPLE)
    assert policies.queue("vip").short_abandon_ms == 5000
    assert policies.queue("unknown").short_abandon_ms == 10_000
    assert policies.gaps.unassigned_after(Channel.TICKET, "vip") == 600_000
    assert policies.gaps.unassigned_after(Channel.CHAT, "billing") == 120_000
    assert policies.churn == ChurnSettings()  # the example spells out the defaults


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policies: []", "policies: at least one policy"),
        (
            "policies: [{name: a, targets: {first_reply_tme: 1h}}]",
            "policies[0].targets.first_reply_tme: unknown metric",
        ),
        ("policies: [{name: a, targets: {first_reply_time: soon}}]", "is not a duration"),
        (
            "policies: [{name: a, targets: {first_reply_time: {business: 1h}}}]",
            "need the policy's calendar",
        ),
        ("policies: [{name: a, calendar: x, targets: {}}]", "'x' is not defined under calendars"),
        (
            "policies: [{name: a, match: {priority: asap}, targets: {}}]",
            "policies[0].match.priority",
        ),
        ("policies: [{name: a, targets: {}, warnings: [1.5]}]", "policies[0].warnings[0]"),
        (
            "calendars: {c: {timezone: Mars/Olympus, hours: {mon: 09:00-17:00}}}\n" + ONE,
            "calendars.c",
        ),
        (
            "calendars: {c: {timezone: UTC, hours: {funday: 09:00-17:00}}}\n" + ONE,
            "calendars.c.hours.funday",
        ),
        (
            "policies: [{name: a, targets: {}}]\nassignee: {unassigned_after: {call: 1m}}",
            "assignee.unassigned_after",
        ),
        ("polices: []", "unknown key(s) polices"),
        (ONE + "\nchurn: {watch: high}", "churn.watch: 'high' is not a number"),
        (ONE + "\nchurn: {weights: {hug: 1}}", "churn.weights: unknown key(s) hug"),
        (ONE + "\nchurn: {breach_weights: {speed: 1}}", "churn.breach_weights.speed"),
        (ONE + "\nqueues: {vip: {warning_fraction: 2}}", "queues.vip.warning_fraction"),
    ],
)
def test_errors_name_the_file_the_key_and_the_reason(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policies(text, "team.yaml")
    assert str(error.value).startswith("team.yaml: ")
    assert message in str(error.value)


def test_a_queue_s_wallboard_colours_come_from_the_file_or_follow_its_goal() -> None:
    policies = parse_policies(
        ONE + "\nqueues:\n  default: {service_level_goal: 0.7, warning_fraction: 0.5}\n"
        "  vip: {service_level_goal: 0.9, service_level_warning: 0.98}\n"
    )
    assert policies.queue("billing").service_level_amber == pytest.approx(0.75)
    assert policies.queue("billing").warning_fraction == 0.5
    assert policies.queue("vip").service_level_amber == 0.98
    assert policies.queue("vip").warning_fraction == 0.5  # inherited from the default
