"""A local HTTP server served from a daemon thread: how every sandbox starts and stops.

listener = Listener(ThreadingHTTPServer(("127.0.0.1", 0), Handler), name="slack-sandbox")
listener.port       # the free port the system picked
listener.close()    # stop serving, release the port, wait for the serving thread
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer

__all__ = ["Listener"]


class Listener:
    """Serves ``server`` until ``close()``; the thread is a daemon, so it never holds up exit."""

    def __init__(
        self, server: ThreadingHTTPServer, *, name: str | None = None, poll_interval: float = 0.02
    ) -> None:
        self.server = server
        # A short poll keeps close() quick: shutdown() waits for the loop's next turn.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": poll_interval},
            name=name,
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
