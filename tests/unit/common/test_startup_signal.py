"""A service stops on SIGTERM also while it starts (before Faust sets its handlers)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from services.common.settings import PROJECT_ROOT
from services.devtools.broker import free_port


def test_sigterm_during_startup_exits_at_once(tmp_path: object) -> None:
    # A "broker" that accepts connections and never answers: the service waits for it.
    silent = socket.create_server(("127.0.0.1", 0))
    env = {
        **os.environ,
        "NEWSWIRE_KAFKA_BOOTSTRAP": f"127.0.0.1:{silent.getsockname()[1]}",
        "NEWSWIRE_DATA_DIR": str(tmp_path),
        "NEWSWIRE_HTTP_PORT": str(free_port()),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "cleaner"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Its first connection to the "broker": imported, handler set, waiting for Kafka.
        silent.settimeout(120)
        conn, _ = silent.accept()
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        # 143: our handler ran (the default action would be -15, and PID 1 would ignore it).
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        conn.close()
    finally:
        silent.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
