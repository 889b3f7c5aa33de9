"""The Dask cluster a run uses: an existing scheduler (--scheduler tcp://HOST:PORT) or a local
cluster of N worker processes on 127.0.0.1 (--workers N), started and closed by labelcli.

Executor wraps the dask.distributed Client with what the drivers need: submit a function per
partition, gather small results while counting the bytes that reach the client. Problems a user
can fix become one LabelError line (the CLI exits 2): dask not installed, a scheduler that cannot
be reached, workers whose versions differ from the client's.
"""
from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
import warnings
from dataclasses import dataclass, field

from labelcli.errors import LabelError

INSTALL_HINT = "pip install 'labelcli[dask]'"
CONNECT_TIMEOUT = "10s"
# Versions that must agree between client and workers for byte-identical results: the code and
# the arithmetic (numpy), the readers (pyarrow, pandas) and the wire (dask, distributed, cloudpickle).
PINNED = ("labelcli", "numpy", "pandas", "pyarrow", "dask", "distributed", "cloudpickle")


def import_distributed():
    """dask.distributed, or the one-line error saying how to install it."""
    try:
        import distributed  # noqa: F401
        import dask  # noqa: F401
    except ImportError:
        raise LabelError(f"--engine dask needs dask.distributed, which is not installed; {INSTALL_HINT}") from None
    return distributed


def versions() -> dict:
    """The PINNED packages' versions in this process (run on every worker too)."""
    from importlib import metadata

    out = {}
    for name in PINNED:
        if name == "labelcli":
            import labelcli

            out[name] = labelcli.__version__
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = ".".join(map(str, sys.version_info[:2]))
    return out


def check_versions(client: dict, workers: dict) -> None:
    """Refuse workers whose PINNED versions differ from the client's (one line naming them)."""
    for addr, theirs in sorted(workers.items()):
        diff = [f"{k} {theirs.get(k)} (client {v})" for k, v in client.items() if theirs.get(k) != v]
        if diff:
            raise LabelError(f"Dask worker {addr} runs {', '.join(diff)}; install the same versions on the"
                             " client and every worker (results must be identical)")


@dataclass(frozen=True)
class Cluster:
    """--engine dask: where to run (an existing scheduler, or N local workers) and --id-col."""

    scheduler: str | None = None
    workers: int | None = None
    id_col: str | None = None


@dataclass
class Executor:
    """A connected dask.distributed Client and the bytes gathered to the client so far."""

    client: object
    gathered_bytes: int = 0
    gathered_items: int = 0
    notes: list = field(default_factory=list)

    @property
    def num_workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"]) if _takes_n_workers(self.client) else \
            len(self.client.scheduler_info()["workers"])

    def submit(self, fn, *args, key: str | None = None, **kwargs):
        """fn(*args) on a worker; args may hold futures (resolved there). pure=False: a task is
        run once per submit, and rerun by Dask (same inputs, same result) if its worker dies."""
        return self.client.submit(fn, *args, pure=False, key=key, **kwargs)

    def map(self, fn, *iterables, **kwargs):
        return [self.submit(fn, *args, **kwargs) for args in zip(*iterables)]

    def gather(self, futures):
        """Results to the client; their pickled size is added to gathered_bytes."""
        out = self.client.gather(futures)
        self.gathered_bytes += len(pickle.dumps(out, protocol=5))
        self.gathered_items += len(futures) if isinstance(futures, list) else 1
        return out

    def release(self, *futures) -> None:
        for f in futures:
            if isinstance(f, list):
                self.release(*f)
            elif f is not None and hasattr(f, "release"):
                f.release()


def _takes_n_workers(client) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


@contextlib.contextmanager
def _quiet_logs():
    """Dask's own log lines (connection chatter, the shutdown of a local cluster) stay off stderr."""
    names = ("distributed", "tornado", "asyncio", "bokeh")
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for n, level in old.items():
            logging.getLogger(n).setLevel(level)


@contextlib.contextmanager
def open_executor(scheduler: str | None = None, workers: int | None = None, *, check: bool = True):
    """An Executor on the scheduler at `scheduler`, or on a local cluster of `workers` processes
    (one thread each) on 127.0.0.1, closed on exit."""
    import_distributed()
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None and workers is not None:
        raise LabelError("give --scheduler (an existing cluster) or --workers (a local one), not both")
    if workers is not None and workers < 1:
        raise LabelError(f"--workers must be at least 1, got {workers}")
    cluster = None
    config = {"distributed.worker.daemon": False, "distributed.admin.tick.limit": "1h",
              "distributed.scheduler.work-stealing": True, "logging.distributed": "critical"}
    with _quiet_logs(), dask.config.set(config), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dask's own (ports, unclosed sockets at shutdown)
        try:
            if scheduler is None:
                cluster = LocalCluster(n_workers=workers or max(1, (os.cpu_count() or 2) // 1), threads_per_worker=1,
                                       processes=True, host="127.0.0.1", dashboard_address=None,
                                       scheduler_kwargs={"dashboard": False, "http_prefix": None},
                                       silence_logs=logging.CRITICAL, worker_dashboard_address=None)
                client = Client(cluster, timeout=CONNECT_TIMEOUT)
            else:
                if "://" not in scheduler:
                    raise LabelError(f"--scheduler {scheduler}: give an address such as tcp://127.0.0.1:8786")
                client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except LabelError:
            raise
        except (OSError, TimeoutError) as e:
            if cluster is not None:
                cluster.close()
            where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
            raise LabelError(f"cannot reach {where} ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else 'timed out'});"
                             " check the address and that the scheduler is running") from None
        try:
            if check:
                mine = versions()
                check_versions(mine, client.run(versions))
            yield Executor(client)
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close(timeout=10)
