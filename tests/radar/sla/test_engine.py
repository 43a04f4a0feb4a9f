"""The engine's per-customer index: one id held bare, several in a set, and back."""

from __future__ import annotations

from radar.sla.engine import CustomerIndex


def test_a_customer_index_keeps_every_member_through_one_and_many() -> None:
    index = CustomerIndex()
    index.set("C1", "T2", True)
    index.set("C1", "T2", True)  # twice is once
    assert index.of("C1") == ["T2"]
    index.set("C1", "T1", True)
    index.set("C1", "T3", True)
    assert index.of("C1") == ["T1", "T2", "T3"]
    index.set("C1", "T2", False)
    index.set("C1", "T9", False)  # never a member
    assert index.of("C1") == ["T1", "T3"]
    index.set("C1", "T1", False)
    assert index.of("C1") == ["T3"]
    index.set("C1", "T1", False)
    index.set("C1", "T3", False)
    assert index.of("C1") == []
    index.set(None, "T4", True)  # no customer, nothing to index
    assert index.of("C2") == []
