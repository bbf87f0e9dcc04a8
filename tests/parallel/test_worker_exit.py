"""Workers of ``parallel.local_executor`` (the pool of ``DataParallel`` and ``lamina tune --workers``) exit when
their master is SIGKILLed, instead of waiting on the dead master's pipe forever."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lamina import parallel

psutil = pytest.importorskip("psutil")

SRC = str(Path(parallel.__file__).resolve().parents[2])

MASTER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from lamina import parallel

    if __name__ == "__main__":
        {make}
        with pool:
            print("ready", flush=True)
            list(pool.map(time.sleep, [60.0] * 2))
""")


def workers_of(master: psutil.Process, n: int, timeout: float = 30.0) -> list:
    """The ``n`` pool workers under ``master`` (through a fork server too), once they exist."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        kids = [p for p in master.children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())]
        busy = [p for p in kids if not p.children()]        # the fork server is a parent, not a worker
        if len(busy) >= n:
            return busy
        time.sleep(0.05)
    raise AssertionError(f"{master.pid} never had {n} workers")


@pytest.mark.parametrize("make", [
    "pool = parallel.local_executor(2)",
    "pool = parallel.local_executor(2, mp_context='forkserver')",
], ids=["fork", "forkserver"])
def test_pool_workers_exit_when_the_master_is_killed(make, tmp_path):
    script = tmp_path / "master.py"
    script.write_text(MASTER.format(src=SRC, make=make))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        workers = workers_of(psutil.Process(proc.pid), 2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.time() + 5.0
    alive = workers
    while alive and time.time() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    for p in alive:
        p.kill()
    assert not alive, f"workers {[p.pid for p in alive]} outlived their SIGKILLed master"


def test_exit_with_master_in_the_master_itself_does_nothing():
    parallel.exit_with_master(os.getpid())       # a thread pool runs the initializer here: no watcher thread
    import threading
    assert not any(t.name == "lamina-watch-master" for t in threading.enumerate())
