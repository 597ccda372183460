"""`POST /api/metrics`: a business system pushes targets and actuals of metric
indicators (数据采集) with a bearer token from the settings.

Body: {"period": "2026-11", "institution": null, "values": [{"number": "1001",
"indicator": "deposit", "target": "5000000", "actual": "4300000"}, ...]} (a value with
"position" and no "number" gives a position's target). All or nothing with the checks of
`jixiao import metrics`: any bad value and nothing is written, every problem listed by
its place in `values` (1 for the first). Replaces only the values given; audited.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.appraisal import periods as lifecycle
from bot.importing.metrics import apply_batch
from bot.importing.report import ImportRefused
from bot.infra.errors import Refused
from bot.infra.i18n import _, using
from bot.infra.settings import Settings
from bot.infra.workdays import utc_now

log = logging.getLogger(__name__)
# A batch larger than this is refused unread: send several.
MAX_BODY = 20 * 1024 * 1024


def _apply(sessions: sessionmaker[Session], body: dict[str, Any]) -> dict[str, Any]:
    # A system, not a person, reads the answer: in English, whatever the default.
    with using("en"), sessions() as s, s.begin():
        group = lifecycle.find_group(s, body.get("group"))
        inst_name = body.get("institution")
        inst = lifecycle.find_institution(s, group, str(inst_name)) if inst_name else None
        period = lifecycle.find_period(s, group, str(body.get("period") or ""), inst)
        values = body.get("values")
        if not isinstance(values, list):
            raise Refused(_("values must be a list of objects"))
        stored, replaced = apply_batch(s, utc_now(), period, values)
    return {"ok": True, "stored": stored, "replaced": replaced}


def metrics_route(settings: Settings, sessions: sessionmaker[Session]) -> Route:
    token = settings.metrics_api_token

    async def post(request: Request) -> Response:
        given = request.headers.get("Authorization", "")
        scheme, _sep, credential = given.partition(" ")
        if (
            not token
            or scheme.casefold() != "bearer"
            or not hmac.compare_digest(credential.strip().encode(), token.encode())
        ):
            return JSONResponse(
                {"ok": False, "error": "missing or wrong bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if int(request.headers.get("Content-Length") or 0) > MAX_BODY:
            return JSONResponse({"ok": False, "error": "batch too large"}, status_code=413)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"ok": False, "error": "the body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse(
                {"ok": False, "error": "the body is not an object"}, status_code=400
            )
        try:
            answer = await run_in_threadpool(_apply, sessions, body)
        except ImportRefused as exc:
            return JSONResponse(
                {
                    "ok": False,
                    "error": exc.lines()[-1],
                    "problems": [
                        {"item": p.row, "field": p.column, "value": p.value, "reason": p.reason}
                        for p in exc.problems
                    ],
                },
                status_code=422,
            )
        except Refused as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=422)
        return JSONResponse(answer)

    return Route("/api/metrics", post, methods=["POST"])
