"""A TCP proxy the fault-injection tests control, between a store and the shared
PostgreSQL server: ``cut()`` drops every connection and refuses new ones (as a dead
server or network would), ``restore()`` lets connections through again. The real
server is never stopped (other people use it).

Run as a script (``python tests/_fallback_proxy.py TARGET_HOST TARGET_PORT``) it prints
its port and obeys ``cut``/``restore`` lines on stdin, for tests whose writers are
other processes.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from typing import List, Set, Tuple


class Proxy:
    """Forward 127.0.0.1:<port> to ``target``; ``cut()`` and ``restore()`` the link."""

    def __init__(self, target: Tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: Set[socket.socket] = set()
        self._up = True
        self._stopped = False
        self.accepted = 0
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url(self, base: str) -> str:
        """``base`` (a PostgreSQL URL) with host and port replaced by this proxy's."""
        import sqlalchemy as sa

        url = sa.engine.make_url(base).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def cut(self) -> None:
        """Close every proxied connection now and refuse new ones until :meth:`restore`."""
        with self._lock:
            self._up = False
            sockets, self._sockets = list(self._sockets), set()
        for s in sockets:
            _close(s)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def stop(self) -> None:
        self._stopped = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
            if not up:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if not self._up:
                    _close(client)
                    _close(server)
                    continue
                self._sockets.update((client, server))
                self.accepted += 1
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with self._lock:
                    self._sockets.discard(s)
                _close(s)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()


def main(argv: List[str]) -> None:
    proxy = Proxy((argv[1], int(argv[2])))
    print(proxy.port, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "cut":
            proxy.cut()
        elif command == "restore":
            proxy.restore()
        print("ok", flush=True)


if __name__ == "__main__":
    main(sys.argv)
