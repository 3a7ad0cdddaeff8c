"""``cloudward lifecycle sync``: fetch endoflife.date products (API v1) and cache them in the store.

The same reader (:func:`planner.parse_product`) reads the live API and the offline snapshot
files, so a sync from a folder of saved responses (``--from-dir``) works without a network.
A product that cannot be fetched or parsed keeps its earlier cached copy (or the built-in
catalogue): nothing already stored is lost.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import planner
from agent.store import Store, utcnow
from agent.store import tables as m

log = logging.getLogger(__name__)

API = planner.lifecycle.API_URL
MAX_BYTES = 4 * 1024 * 1024


@dataclass
class SyncReport:
    fetched: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    offline: bool = False


Fetch = Callable[[str], bytes]


def http_fetch(url: str, timeout: float = 10.0) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{url}: only http(s) URLs are fetched")
    req = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        url, headers={"User-Agent": "cloudward lifecycle sync", "Accept": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) URL only
        data: bytes = resp.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"response larger than {MAX_BYTES} bytes")
    return data


def wanted_products(settings: planner.Settings) -> list[str]:
    """Products the matching rules can map assets to."""
    return sorted(settings.matching.products())


def sync(
    store: Store,
    products: Iterable[str],
    *,
    fetch: Fetch | None = None,
    url: str = API,
    from_dir: Path | None = None,
) -> SyncReport:
    """Fetch each product and cache it. ``url`` has a ``{product}`` placeholder; a URL without
    one is a base URL, to which ``/PRODUCT`` is added."""
    if "{product}" not in url:
        url = url.rstrip("/") + "/{product}"
    report = SyncReport()
    for name in products:
        source = str(from_dir / f"{name}.json") if from_dir else url.format(product=name)
        try:
            if from_dir is not None:
                raw = (from_dir / f"{name}.json").read_bytes()
            else:
                raw = (fetch or http_fetch)(source)
            obj = json.loads(raw)
            product = planner.parse_product(obj, source=source)
        except urllib.error.URLError as exc:
            reason = getattr(exc, "reason", exc)
            report.failed[name] = f"cannot reach {source}: {reason}"
            if isinstance(reason, OSError) or "Name or service" in str(reason):
                report.offline = True
                break
            continue
        except (OSError, ValueError, planner.LifecycleDataError) as exc:
            report.failed[name] = f"{source}: {exc}"
            continue
        with store.session() as s:
            row = s.get(m.LifecycleProduct, name)
            body = json.dumps(obj, sort_keys=True)
            if row is None:
                row = m.LifecycleProduct(name=name, fetched_at=utcnow(), source=source, body=body)
            else:
                row.fetched_at, row.source, row.body = utcnow(), source, body
            s.add(row)
            s.commit()
        report.fetched.append(product.name)
    return report
