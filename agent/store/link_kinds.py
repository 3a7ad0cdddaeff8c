"""The kinds of relation stored between two assets (``cw_asset_link.kind``; see
:class:`agent.store.tables.AssetLink`)."""

from __future__ import annotations

HOSTS = "hosts"  # a hypervisor -> a virtual machine it runs
MANAGES = "manages"  # a management controller -> the server it sits in
CONNECTS = "connects"  # a switch -> an endpoint on one of its edge ports
