"""The web page and its API on http://127.0.0.1:<port>/, in a thread of the local stack's process.

The port is bound first, before the stack starts anything, so a port in use is one ConfigError at
once; the app is served once the stack has made what it needs (the user pool, the settings).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from conveyor_local.server import HOST, listen
from conveyor_local.web import DEFAULT_PORT

POLL_SECONDS = 0.1
"""How soon `stop` takes effect."""


class WebServer:
    def __init__(self, port: int = DEFAULT_PORT) -> None:
        """Bind `port` (0: any free one) or raise ConfigError; `start` serves an app on it."""
        self._listening: socket.socket | None = listen(port, "--web-port")
        self.port: int = self._listening.getsockname()[1]
        self.origin = f"http://{HOST}:{self.port}"
        self.url = f"{self.origin}/"
        self.hosts = (f"{HOST}:{self.port}", f"localhost:{self.port}")
        """The Host headers a browser on this machine sends for this origin."""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, app: Callable[..., Any]) -> None:
        """Serve the WSGI `app` on the bound port, in a daemon thread."""
        if self._listening is None:
            raise RuntimeError("the web server was stopped")
        with self._listening:  # werkzeug serves a duplicate of the descriptor
            self._server = make_server(
                HOST, self.port, app, threaded=True, fd=self._listening.fileno()
            )
        self._listening = None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="web-server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._listening is not None:
            self._listening.close()
            self._listening = None
        if self._server is not None:
            if self._thread is not None and self._thread.is_alive():
                self._server.shutdown()
                self._thread.join()
            self._server.server_close()
            self._server = None
