"""The board report: one self-contained HTML file (inline CSS and SVG, no scripts, nothing
fetched), optionally printed to PDF by a local Chromium.

Every figure comes from one stored plan (:func:`agent.bridge.plan_runs.plan_body`) and the
inventory; the report names where each number comes from (the plan's ``sources`` and the
lifecycle data). Text from devices is escaped by the template engine; a Content-Security-Policy
in the file forbids scripts even if something slipped through.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlmodel import select

from agent import __version__
from agent.errors import AgentError
from agent.store import Store
from agent.store import tables as m
from agent.web import ENV, STATIC, figures

log = logging.getLogger(__name__)

SOURCE_LABELS = {
    "energy_price": "Electricity price",
    "pue": "Power usage effectiveness (server rooms)",
    "grid_carbon": "Grid carbon factor",
    "power": "Power draw per device",
    "support": "Hardware support contracts",
    "refresh": "Hardware refresh cost and cycle",
    "cloud_prices": "Cloud prices",
    "cloud_carbon": "Cloud energy and carbon",
}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ReportError(AgentError, RuntimeError):
    """The report cannot be made: no plan, or the PDF printer failed. Says what to do."""


def build_report(
    store: Store,
    plan_id: int | None = None,
    *,
    top: int = 15,
    title: str = "Estate and cloud migration plan",
    generated: datetime | None = None,
) -> dict[str, Any]:
    """Everything the report template needs, from one stored plan (default: the newest)."""
    from agent.bridge.plan_runs import plan_body

    body = plan_body(store, plan_id)
    if body is None:
        if plan_id is not None:
            raise ReportError(f"no plan {plan_id} in the store (see `cloudward plan list`)")
        raise ReportError("no plan in the store yet: run `cloudward plan` first")
    today = date.fromisoformat(body["today"])
    with store.session() as s:
        rows = {str(a.id): a for a in s.exec(select(m.Asset)).all()}
    assets = [a for a in body["assets"] if str(a["asset_id"]) in rows]
    klass = {str(a["asset_id"]): rows[str(a["asset_id"])].device_class for a in assets}
    site = {str(a["asset_id"]): rows[str(a["asset_id"])].site or "unassigned" for a in assets}
    currency = body.get("currency", "GBP")
    money = figures.money_years(body)
    carbon = figures.carbon_years(body["years"])
    eos, undated = figures.eos_chart(
        [(klass[str(a["asset_id"])], a["support"]["days_remaining"]) for a in assets],
        today,
        width=1000,
    )
    wave_rows = [_wave_row(w, body) for w in body["waves"]]
    status = Counter(a["support"]["status"] for a in assets)
    # the verdict splits extended into paid and community (plans stored before it: status)
    verdicts = Counter(a["support"].get("verdict") or a["support"]["status"] for a in assets)
    return {
        "title": title,
        "generated": (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "plan": {"id": body["plan_id"], "as_of": body["today"], "created": body["created_at"]},
        "currency": currency,
        "sign": figures.CURRENCY_SIGNS.get(currency, currency + " "),
        "summary": body["summary"],
        "total": len(assets),
        "status": status,
        "verdicts": verdicts,
        "known": len(assets) - status.get("unknown", 0),
        "status_labels": figures.STATUS_LABELS,
        "statuses": figures.STATUSES,
        "sites": sorted(Counter(site.values()).items()),
        "classes": sorted(Counter(klass.values()).items(), key=lambda kv: (-kv[1], kv[0])),
        "class_chart": figures.status_by_class_chart(
            [(klass[str(a["asset_id"])], a["support"]["status"]) for a in assets], width=1000
        ),
        "eos_chart": eos,
        "undated": undated,
        "ending": _ending(assets, klass),
        "debt": _debt_rows(assets, klass, site, top),
        "weights": _weights(assets),
        "waves": wave_rows,
        "wave_chart": figures.wave_chart(wave_rows, today, link=True),
        "money": money,
        "money_totals": _totals(money),
        "money_chart": figures.money_chart(money, currency),
        "carbon": carbon,
        "carbon_chart": figures.carbon_chart(carbon),
        "sources": [(SOURCE_LABELS.get(k, k), v) for k, v in sorted(body["sources"].items())],
        "lifecycle_sources": sorted(
            {c["source"] for a in assets for c in a["support"]["components"] if c.get("source")}
        ),
        "retained": Counter(
            a["strategy"]["strategy"] for a in assets if a["wave"] is None
        ).most_common(),
        "moving": sum(1 for a in assets if a["wave"] is not None),
    }


def _wave_row(w: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    wave = w["wave"]
    groups = {g["id"]: g for g in body["groups"]}
    names = {str(a["asset_id"]): a["name"] for a in body["assets"]}
    return {
        **{k: w[k] for k in ("debt_retired", "cost_delta", "kgco2e_delta", "kwh_delta")},
        **{k: wave[k] for k in ("number", "kind", "start", "end", "reasons", "effort_days")},
        "assets": len(wave["assets"]),
        "groups": len(wave["groups"]),
        "group_list": [
            {
                "id": gid,
                "strategy": groups.get(gid, {}).get("strategy", ""),
                "reason": groups.get(gid, {}).get("reason", ""),
                "members": [
                    names.get(str(x), str(x)) for x in groups.get(gid, {}).get("assets", [])
                ],
            }
            for gid in wave["groups"]
        ],
    }


def _debt_rows(
    assets: list[dict[str, Any]], klass: dict[str, str], site: dict[str, str], top: int
) -> list[dict[str, Any]]:
    ranked = sorted(assets, key=lambda a: (-a["debt"]["score"], str(a["asset_id"])))[:top]
    return [
        {
            "name": a["name"],
            "class": klass[str(a["asset_id"])],
            "site": site[str(a["asset_id"])],
            "score": a["debt"]["score"],
            "factors": [f for f in a["debt"]["factors"] if f["points"]],
            "status": a["support"]["status"],
            "strategy": a["strategy"]["strategy"],
            "reasons": a["strategy"]["reasons"],
            "wave": a["wave"],
        }
        for a in ranked
    ]


def _ending(assets: list[dict[str, Any]], klass: dict[str, str]) -> list[dict[str, Any]]:
    """Assets whose support ends within two years (or ended in the last year), soonest first."""
    out = []
    for a in assets:
        days = a["support"]["days_remaining"]
        if days is None or not -365 <= days <= 730:
            continue
        comps = [c for c in a["support"]["components"] if c.get("days_remaining") == days]
        out.append(
            {
                "name": a["name"],
                "class": klass[str(a["asset_id"])],
                "days": days,
                "ends": comps[0]["ends"] if comps else None,
                "evidence": comps[0]["evidence"] if comps else "",
                "wave": a["wave"],
                "strategy": a["strategy"]["strategy"],
            }
        )
    return sorted(out, key=lambda r: (r["days"], r["name"]))


def _weights(assets: list[dict[str, Any]]) -> list[tuple[str, float]]:
    for a in assets:
        return [(f["name"], f["weight"]) for f in a["debt"]["factors"]]
    return []


def _totals(years: list[dict[str, Any]]) -> dict[str, float]:
    keys = (
        "baseline_capital",
        "baseline_revenue",
        "baseline_total",
        "plan_capital",
        "plan_revenue",
        "plan_total",
        "migration_cost",
        "capital_avoided",
        "plan_onprem_revenue",
        "plan_cloud_revenue",
        "plan_refresh_capital",
    )
    return {k: round(sum(y[k] for y in years), 2) for k in keys}


def render_report(context: Mapping[str, Any]) -> str:
    css = Markup((STATIC / "report.css").read_text(encoding="utf-8"))  # noqa: S704 - our file
    return ENV.get_template("report/report.html").render(css=css, **context)


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium to print with: ``explicit`` if given (None when it is not executable),
    else the first of the usual names on PATH."""
    if explicit is not None:
        found = shutil.which(explicit)
        return found if found else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path, chromium: str, timeout: float = 180.0) -> None:
    """Print ``html`` to ``pdf`` with headless Chromium (offline: no network features)."""
    with tempfile.TemporaryDirectory(prefix="cloudward-pdf-") as profile:
        cmd = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to start as root otherwise
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"{chromium} did not print {html} within {timeout:.0f}s") from None
        except OSError as exc:
            raise ReportError(f"cannot run {chromium}: {exc.strerror}") from None
    if done.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise ReportError(
            f"{chromium} could not print the PDF (exit {done.returncode}): {' / '.join(tail)}; "
            f"the HTML report at {html} prints from any browser"
        )
    log.info("printed %s to %s", html, pdf)
