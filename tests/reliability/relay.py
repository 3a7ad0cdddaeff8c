"""A UDP relay between cloudward and a real SNMP agent that injects a fault at a chosen moment:
after N answers of a walk, run ``fault()`` (SIGKILL or SIGSTOP the agent). That makes "the agent
died / froze in the middle of a walk" exact instead of a race.

    relay = UdpRelay(snmpd.port)
    relay.arm(after=5, fault=lambda: snmpd.proc.kill())
    ... poll 127.0.0.1:relay.port ...
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable
from types import TracebackType


class UdpRelay:
    def __init__(self, agent_port: int, agent_host: str = "127.0.0.1") -> None:
        self.agent = (agent_host, agent_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port: int = self.front.getsockname()[1]
        self.answers = 0
        self._client: tuple[str, int] | None = None
        self._after: int | None = None
        self._fault: Callable[[], None] | None = None
        self.fired = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="udp-relay", daemon=True)
        self._thread.start()

    def arm(self, after: int, fault: Callable[[], None]) -> None:
        """Run ``fault`` once, right after forwarding the ``after``-th answer from now."""
        self.fired.clear()
        self._fault, self._after = fault, self.answers + after

    def _run(self) -> None:
        while not self._stopping.is_set():
            readable, _, _ = select.select([self.front, self.back], [], [], 0.1)
            for sock in readable:
                try:
                    data, addr = sock.recvfrom(65535)
                except OSError:
                    return
                if sock is self.front:
                    self._client = addr
                    self.back.sendto(data, self.agent)
                elif self._client is not None:
                    self.front.sendto(data, self._client)
                    self.answers += 1
                    if self._fault is not None and self.answers >= (self._after or 0):
                        fault, self._fault = self._fault, None
                        fault()
                        self.fired.set()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        self.front.close()
        self.back.close()

    def __enter__(self) -> UdpRelay:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
