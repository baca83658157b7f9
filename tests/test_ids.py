"""Client-generated ids (storekit.records._ids)."""

from __future__ import annotations

import os

import pytest

from storekit.records import _ids, new_id


def test_new_ids_are_strictly_increasing_in_a_process() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert ids == sorted(set(ids))
    assert all(0 < i < 2**63 for i in ids)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_random_bits() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next 64 random bits, to the parent
        try:
            os.write(write, str(_ids._random.getrandbits(64)).encode())
        finally:
            os._exit(0)
    os.close(write)
    ours = _ids._random.getrandbits(64)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        theirs = int(pipe.read())
    assert theirs != ours, "the child continued the parent's sequence (no reseed after fork)"


def test_seeding_the_global_random_module_does_not_replay_the_id_generator() -> None:
    import random

    random.seed(1)
    first = _ids._random.getrandbits(64)
    random.seed(1)
    second = _ids._random.getrandbits(64)
    assert first != second, "a caller's random.seed() reset the id generator"
