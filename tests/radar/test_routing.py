from __future__ import annotations

from radar.events import EventType
from radar.routing import DetectionRouter
from tests.factories import make_event


def test_contacts_are_keyed_by_customer_across_channels() -> None:
    router = DetectionRouter()
    call = make_event(EventType.CALL_QUEUED, customer_id="c1")
    ticket = make_event(EventType.TICKET_CREATED, customer_id="c1")
    assert router.key(call) == router.key(ticket) == "customer:c1"


def test_an_event_without_customer_follows_its_interaction() -> None:
    router = DetectionRouter()
    router.key(make_event(EventType.TICKET_CREATED, interaction_id="T1", customer_id="c1"))
    later = make_event(EventType.TICKET_ASSIGNED, interaction_id="T1", customer_id=None)
    stranger = make_event(EventType.TICKET_ASSIGNED, interaction_id="T2", customer_id=None)
    assert router.key(later) == "customer:c1"
    assert router.key(stranger) == "interaction:T2"


def test_agent_events_go_everywhere() -> None:
    assert DetectionRouter().key(make_event(EventType.AGENT_DEACTIVATED)) is None


def test_the_oldest_interactions_are_forgotten_beyond_capacity() -> None:
    router = DetectionRouter(capacity=2)
    for n in range(3):
        router.key(make_event(EventType.CALL_QUEUED, interaction_id=f"C{n}", customer_id=f"c{n}"))
    assert router.key(make_event(EventType.CALL_ENDED, interaction_id="C0", customer_id=None)) == (
        "interaction:C0"
    )
    assert router.key(make_event(EventType.CALL_ENDED, interaction_id="C2", customer_id=None)) == (
        "customer:c2"
    )
