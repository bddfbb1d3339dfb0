"""Makes the extraction pool's forkserver ignore SIGTERM; imported there only (PRELOAD).

The forkserver is in the cleaner's process group, so a SIGTERM to the group (`make run`'s
stop, the test harness, some supervisors) reaches it. It is also what reports each
worker's exit to the pool: when it dies, every worker looks dead and the page in
extraction fails with BrokenProcessPool although its worker is fine. The service stops
gracefully on that same signal and closes the pool itself; the forkserver leaves as soon
as the service and its workers are gone (its pipe from them closes). Ignoring SIGINT
is the forkserver's own doing already. A Python handler set in the service would not
survive the forkserver's exec, nor would a blocked signal mask (its spawn clears it).

Importing this module anywhere else does nothing: it acts only when the import comes
from the forkserver's own start-up.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing import forkserver


def _imported_by_forkserver() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is forkserver.main.__code__:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


if _imported_by_forkserver():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
