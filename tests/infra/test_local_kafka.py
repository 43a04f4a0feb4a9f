import base64
import uuid

import pytest

from infra.local_kafka import new_cluster_id


def test_a_cluster_id_never_looks_like_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xF8 encodes to '-' in base64url: the storage tool would read "-t -xyz" as two options.
    drawn = iter([uuid.UUID(bytes=bytes([0xF8]) + bytes(15)), uuid.UUID(int=7)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))

    cluster_id = new_cluster_id()

    assert not cluster_id.startswith("-")
    assert uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "==")).int == 7


def test_cluster_ids_are_22_url_safe_characters() -> None:
    for _ in range(200):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22
        assert set(cluster_id) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
