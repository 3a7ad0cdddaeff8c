"""The ``api`` benchmark's floor: the same three endpoints in plain Starlette and plain SQL.

No FastAPI (no parameter models, no response validation), no ORM, no middleware: a DBAPI
connection per worker thread (``sqlite3`` or ``psycopg``), the equivalent SQL written out, rows
turned into the same JSON with ``json.dumps``. It does what any implementation must do per
request (count the matching rows, read one page, decode the JSON columns it returns) and
nothing else, with the same query plan as ours: the count leaves out the join where the schema
makes it redundant (and on SQLite starts from the plan rows when it filters on them), and the
waves view is kept per plan (id and digest), since a stored plan never changes. The benchmark
checks that both servers answer with the same JSON.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.store.detail_words import DETAIL_WORDS_1
from agent.web.money import plan_years, wave_years

ASSET_COLUMNS = (
    "id",
    "name",
    "device_class",
    "vendor",
    "model",
    "os_name",
    "os_version",
    "serial",
    "firmware",
    "mgmt_address",
    "site",
    "tags",
    "sources",
    "status",
    "first_seen",
    "last_seen",
)
PLAN_COLUMNS = ("support_status", "days_to_eos", "debt", "strategy", "wave")


class Database:
    """One DBAPI connection per thread; ``?`` placeholders on both backends."""

    def __init__(self, url: str, schema: str) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.drivername.startswith("sqlite")
        self._path = parsed.database or ""
        self._pg = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._schema = schema
        self._local = threading.local()

    def _connect(self) -> Any:
        if self.sqlite:
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=30)
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        options = f"-csearch_path={self._schema}" if self._schema else ""
        return psycopg.connect(self._pg, autocommit=True, options=options)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        cur = conn.execute(sql if self.sqlite else sql.replace("?", "%s"), params)
        return list(cur.fetchall())

    def json(self, value: Any) -> Any:
        return json.loads(value) if self.sqlite and isinstance(value, str) else value

    def when(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite keeps UTC times as naive text
            value = datetime.fromisoformat(value).replace(tzinfo=UTC)
        return str(value.isoformat())


def _current_plan(db: Database) -> int | None:
    found = db.rows("SELECT id FROM cw_plan ORDER BY id DESC LIMIT 1")
    return int(found[0][0]) if found else None


def _int(request: Request, name: str, default: int) -> int:
    return int(request.query_params.get(name, default))


def make_app(url: str, schema: str) -> Starlette:
    db = Database(url, schema)
    waves_cache: dict[tuple[int, str], bytes] = {}
    select_asset = ", ".join(f"a.{c}" for c in ASSET_COLUMNS)
    select_plan = ", ".join(f"p.{c}" for c in PLAN_COLUMNS)

    def assets(request: Request) -> Response:
        qp = request.query_params
        limit, offset = _int(request, "limit", 100), _int(request, "offset", 0)
        plan_id = _current_plan(db)
        on_asset: list[str] = []
        on_plan: list[str] = []
        asset_params: list[Any] = []
        plan_params: list[Any] = []
        for column in ("device_class", "site"):
            if qp.get(column):
                on_asset.append(f"a.{column} = ?")
                asset_params.append(qp[column])
        lifecycle = qp.get("status", "active")  # replaced boxes are listed only when asked
        if lifecycle != "all":
            on_asset.append("a.status = ?")
            asset_params.append(lifecycle)
        status = qp.get("support_status")
        if status == "unknown":
            on_plan.append("(p.support_status IS NULL OR p.support_status = 'unknown')")
        elif status:
            on_plan.append("p.support_status = ?")
            plan_params.append(status)
        joined = (
            "FROM cw_asset a LEFT OUTER JOIN cw_asset_plan p ON p.asset_id = a.id AND p.plan_id = ?"
        )
        where = " AND ".join(on_asset + on_plan)
        params = (plan_id if plan_id is not None else -1, *asset_params, *plan_params)
        if on_plan and status != "unknown" and db.sqlite:  # from the plan rows, as ours
            total = db.rows(
                "SELECT count(*) FROM cw_asset_plan p CROSS JOIN cw_asset a "
                f"ON a.id = p.asset_id WHERE p.plan_id = ? AND {where}",
                params,
            )[0][0]
        elif on_plan:  # one plan row per asset at most: otherwise the assets alone count
            total = db.rows(f"SELECT count(*) {joined} WHERE {where}", params)[0][0]
        else:
            total = db.rows(f"SELECT count(*) FROM cw_asset a WHERE {where}", params[1:])[0][0]
        page = db.rows(
            f"SELECT {select_asset}, {select_plan} {joined} WHERE {where} "
            "ORDER BY a.id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        items = []
        for row in page:
            item = dict(zip(ASSET_COLUMNS, row[: len(ASSET_COLUMNS)], strict=True))
            status_, days, debt, strategy, wave = row[len(ASSET_COLUMNS) :]
            item["tags"], item["sources"] = db.json(item["tags"]), db.json(item["sources"])
            item["first_seen"] = db.when(item["first_seen"])
            item["last_seen"] = db.when(item["last_seen"])
            item["support_status"] = status_ or "unknown"
            item["days_to_end_of_support"] = days
            item["debt"], item["strategy"], item["wave"] = debt, strategy, wave
            items.append(item)
        return JSONResponse({"items": items, "total": total, "limit": limit, "offset": offset})

    def waves(request: Request) -> Response:
        found = db.rows("SELECT id, digest FROM cw_plan ORDER BY id DESC LIMIT 1")
        if not found:
            return JSONResponse({"detail": "no plan yet"}, status_code=404)
        key = (int(found[0][0]), str(found[0][1]))
        if key not in waves_cache:
            text, packed = db.rows("SELECT body, body_zlib FROM cw_plan WHERE id = ?", (key[0],))[0]
            body = json.loads(text if packed is None else zlib.decompress(packed))
            names = {a["asset_id"]: a["name"] for a in body["assets"]}
            groups = {g["id"]: g for g in body["groups"]}
            money = wave_years(body)  # the money by financial year is the product's own sum
            out = []
            for w in body["waves"]:
                wave = dict(w["wave"])
                wave["groups"] = [
                    {**groups[g], "asset_names": [names.get(x, x) for x in groups[g]["assets"]]}
                    if g in groups
                    else {"id": g}
                    for g in wave["groups"]
                ]
                out.append({**w, "wave": wave, "money": money.get(int(wave["number"]), [])})
            view = {
                "plan_id": key[0],
                "today": body["today"],
                "currency": body.get("currency", "GBP"),
                "years": plan_years(body),
                "waves": out,
            }
            waves_cache.clear()
            waves_cache[key] = JSONResponse(view).body
        return Response(waves_cache[key], media_type="application/json")

    def debt(request: Request) -> Response:
        limit, offset = _int(request, "limit", 100), _int(request, "offset", 0)
        plan_id = _current_plan(db)
        if plan_id is None:
            return JSONResponse({"detail": "no plan yet"}, status_code=404)
        source = (
            "FROM cw_asset_plan p JOIN cw_asset a ON a.id = p.asset_id "
            "JOIN cw_plan_detail d ON d.id = p.detail_id WHERE p.plan_id = ?"
        )
        # every plan row has its asset (a foreign key), so the plan's rows count the join
        total = db.rows("SELECT count(*) FROM cw_asset_plan WHERE plan_id = ?", (plan_id,))[0][0]
        page = db.rows(
            "SELECT a.id, a.name, a.device_class, a.site, p.debt, p.support_status, "
            f"p.days_to_eos, p.strategy, p.wave, d.detail, d.detail_zlib {source} "
            "ORDER BY p.debt DESC, a.id LIMIT ? OFFSET ?",
            (plan_id, limit, offset),
        )
        items = []
        for aid, name, klass, site, score, status, days, strategy, wave, text, packed in page:
            if packed is not None:  # packed with the store's dictionary (revision 0012)
                unpacker = zlib.decompressobj(zdict=DETAIL_WORDS_1)
                text = unpacker.decompress(bytes(packed))
            detail = json.loads(text)  # text on both backends
            items.append(
                {
                    "asset_id": aid,
                    "name": name,
                    "device_class": klass,
                    "site": site,
                    "debt": score,
                    "support_status": status,
                    "days_to_end_of_support": days,
                    "strategy": strategy,
                    "wave": wave,
                    "factors": detail.get("factors", []),
                    "support": detail.get("support", []),
                }
            )
        return JSONResponse(
            {"items": items, "total": total, "limit": limit, "offset": offset, "plan_id": plan_id}
        )

    def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/api/v1/assets", assets),
            Route("/api/v1/waves", waves),
            Route("/api/v1/debt", debt),
            Route("/healthz", healthz),
        ]
    )
