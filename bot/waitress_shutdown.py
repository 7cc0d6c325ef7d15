"""Stopping waitress in-process, promptly and completely.

`TcpWSGIServer.close()` called from another thread closes the sockets under the running
loop: the loop sits in `select()` on dead descriptors until its one-second timeout (and a
descriptor number reused meanwhile by the next server can wake it on someone else's
socket), and the task threads are never told to stop — sixteen idle threads left behind
per stopped server. Here the loop closes its own sockets (its trigger wakes it at once),
then the task threads are ended; both are waited for, so this returns as soon as they end.
"""

from __future__ import annotations

import threading

from waitress import wasyncore


def shut_down(http, loop: threading.Thread | None, timeout: float = 5.0) -> None:
    """Stop `http` (from `waitress.server.create_server`) whose `run()` runs in `loop`."""
    trigger = getattr(http, "trigger", None)  # a MultiSocketServer (several sockets) has none
    if loop is not None and loop.is_alive() and trigger is not None:
        try:
            trigger.pull_trigger(lambda: wasyncore.close_all(http._map))
        except OSError:  # the trigger's pipe is already closed (seen in CI, rarely): close from here
            http.close()
        loop.join(timeout)
    else:
        http.close()
    http.task_dispatcher.shutdown(timeout=timeout)
