"""moto's S3, SQS, DynamoDB and Batch APIs on 127.0.0.1, in a thread of this process.

The socket is bound here, before the thread starts, so a port in use or out of range is an error
at once: moto's own ThreadedMotoServer binds inside its thread and waits forever when that fails.
"""

from __future__ import annotations

import os
import socket
import threading

from werkzeug.serving import BaseWSGIServer, make_server

from conveyor.errors import ConfigError
from conveyor_local import moto_fixes

HOST = "127.0.0.1"


def listen(port: int, option: str) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: any free one), or one ConfigError naming the
    command-line `option` that chose it."""
    try:
        return socket.create_server((HOST, port))
    except OverflowError as err:  # a port above 65535
        raise ConfigError(f"port {port} is not a port: use 1 to 65535 (0: any free one)") from err
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise ConfigError(
            f"cannot listen on {HOST}:{port}: {reason} "
            f"(is another `conveyor local up` or server using it? try another {option})"
        ) from err


class MotoServer:
    def __init__(self, port: int = 0) -> None:
        """Bind `port` (0: any free one) or raise ConfigError; `start` serves it."""
        moto_fixes.apply()
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )

        with listen(port, "--port") as listening:  # werkzeug serves a duplicate of the descriptor
            self._server: BaseWSGIServer = make_server(
                HOST,
                port,
                DomainDispatcherApplication(create_backend_app),
                threaded=True,
                request_handler=MotoRequestHandler,
                fd=listening.fileno(),
            )
        self.port: int = self._server.socket.getsockname()[1]
        self.endpoint = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-server", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()
