"""The outbox: seq allocation that survives restarts, ack-only removal, order."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from edge.outbox import Outbox


def add(outbox: Outbox, n: int) -> list[int]:
    return [outbox.append(lambda seq: ("t", f"id-{seq}", f'{{"seq":{seq}}}')) for _ in range(n)]


def test_seq_is_monotonic_and_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "gw.sqlite"
    ob = Outbox(db)
    assert add(ob, 3) == [1, 2, 3]
    ob.close()
    ob = Outbox(db)
    assert ob.depth() == 3
    assert add(ob, 2) == [4, 5]
    ob.close()


def test_seq_never_reused_after_ack(tmp_path: Path) -> None:
    db = tmp_path / "gw.sqlite"
    ob = Outbox(db)
    for seq in add(ob, 4):
        assert ob.ack(seq)
    assert ob.depth() == 0
    assert not ob.ack(1)
    ob.close()
    ob = Outbox(db)
    assert add(ob, 1) == [5]
    assert ob.last_seq() == 5


def test_pending_in_seq_order_after_a_gap(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite")
    add(ob, 5)
    ob.ack(2)
    assert [r.seq for r in ob.pending()] == [1, 3, 4, 5]
    assert [r.seq for r in ob.pending(after_seq=3, limit=1)] == [4]
    row = ob.pending(limit=1)[0]
    assert (row.topic, row.event_id, row.payload) == ("t", "id-1", '{"seq":1}')
    ob.mark_attempt(1)
    assert ob.pending(limit=1)[0].attempts == 1
    assert ob.oldest_age_s() is not None


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite")

    def boom(seq: int) -> tuple[str, str, str]:
        raise ValueError("bad event")

    with contextlib.suppress(ValueError):
        ob.append(boom)
    assert ob.depth() == 0 and ob.last_seq() == 0
    assert add(ob, 1) == [1]


def test_concurrent_appends_get_distinct_seqs(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "gw.sqlite")
    seqs: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        got = add(ob, 25)
        with lock:
            seqs.extend(got)

    threads = [threading.Thread(target=worker, name=f"append-{i}") for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(seqs) == list(range(1, 101))
