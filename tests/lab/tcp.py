"""Tiny TCP programs started inside lab hosts: a server that accepts and holds connections, and a
client that opens connections and keeps them open. Each prints one line when it is ready.

    python -m tests.lab.tcp serve ADDRESS PORT        # prints "listening"
    python -m tests.lab.tcp hold ADDRESS PORT COUNT   # prints "connected N"

Both run until terminated; the kernel shows their sockets with the owning process, as an
application server and its database client would.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time


def serve(address: str, port: int) -> None:
    server = socket.create_server((address, port), reuse_port=False, backlog=64)
    held: list[socket.socket] = []
    print("listening", flush=True)
    while True:
        conn, _peer = server.accept()
        held.append(conn)  # keep it open: an idle, established session

        def drain(c: socket.socket = conn) -> None:
            try:
                while c.recv(4096):
                    pass
            except OSError:
                pass

        threading.Thread(target=drain, daemon=True).start()


def hold(address: str, port: int, count: int) -> None:
    held = [socket.create_connection((address, port), timeout=10) for _ in range(count)]
    print(f"connected {len(held)}", flush=True)
    while True:
        time.sleep(3600)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if len(argv) == 3 and argv[0] == "serve":
        serve(argv[1], int(argv[2]))
    elif len(argv) == 4 and argv[0] == "hold":
        hold(argv[1], int(argv[2]), int(argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
