"""Which process holds something (an ingestion run, a scheduler slot), and whether it still runs.

Owners are `host:pid`. On the same host a pid that no longer exists, or our own pid held by a
row written before this process started, names a process that died. On another host only a
lease or heartbeat can tell.
"""

from __future__ import annotations

import os
import socket


def process_owner() -> str:
    """`host:pid` of this process (`job_run.owner`, `ingestion_run.owner`, the logs)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def owner_is_gone(owner: str | None) -> bool | None:
    """True: the owning process certainly stopped. False: it runs. None: cannot tell here."""
    if not owner:
        return None
    host, _, pid_text = owner.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    if pid == os.getpid():
        # Our own pid on a row we did not write in this process: a previous incarnation (a
        # container restarted with the same host name and pid). The callers ask only at start.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # another user's live process
    return False
