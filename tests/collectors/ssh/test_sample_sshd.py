"""The light utilisation poll over SSH against a real sshd: only the allow-listed ``sample``
command runs, and it reads this machine's /proc and df."""

from __future__ import annotations

import pytest

from collectors.sample import throughput
from collectors.ssh.sampler import collect_ssh_sample
from tests.collectors.ssh.conftest import Lab

pytestmark = pytest.mark.peer


def test_linux_sample_over_ssh(lab: Lab) -> None:
    first = collect_ssh_sample(lab.target(platform="linux"), lab.creds())
    assert first.cpu_pct is not None and 0 <= first.cpu_pct <= 100
    assert first.mem_pct is not None and 0 < first.mem_pct < 100
    assert first.load1 is not None and first.load1 >= 0
    assert first.disk_pct is not None and 0 < first.disk_pct <= 100
    assert first.interfaces >= 1 and first.net_in_octets is not None
    second = collect_ssh_sample(lab.target(platform="linux"), lab.creds())
    rates = throughput(first, second, 1.0)
    assert rates is not None and min(rates) >= 0
