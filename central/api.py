"""API stage: the HTTP API of docs/api.md (FastAPI): login, reading, changing alerts, the live event stream.

Auth: a signed token, sent as `Authorization: Bearer` or as the HttpOnly `crowd_session` cookie; a state
change authenticated by the cookie must echo the `crowd_csrf` cookie in `X-CSRF-Token` (double-submit),
so another site cannot make a logged-in browser change alerts.
"""

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text

from central import views
from central.alerts import Action, ActionError
from central.auth import Authenticator, Session, can_change_alerts
from central.clock import Clock
from central.commands import OperatorStep
from central.config import CentralConfig
from central.evaluator import Evaluator
from central.events import EventBus
from central.login_throttle import LoginThrottle, ThrottleSettings, client_address
from central.obs import Telemetry
from central.read_model import region_summary
from central.snapshot_api import add_snapshot_routes
from central.snapshots import SnapshotRequests
from central.store import AlertNotFound, Store
from contract.central_messages import AlertView
from contract.pedestrian import FRUIN_WALKWAY_BANDS

WEB_DIR = Path(__file__).resolve().parent / "web"
SESSION_COOKIE = "crowd_session"
CSRF_COOKIE = "crowd_csrf"
KEEPALIVE_S = 15.0
# Who failed or was throttled, from where, for how long; never a password, and an unknown username only as
# "<unknown user>" (a password typed into the username field must not land in the log).
login_log = logging.getLogger("central.login")


@dataclass
class Services:
    cfg: CentralConfig
    store: Store
    evaluator: Evaluator
    auth: Authenticator
    bus: EventBus
    telemetry: Telemetry
    clock: Clock
    started_at: float
    mqtt_connected: Callable[[], bool] | None = None
    # Logins and token expiry follow real time even when `clock` is accelerated for a replay.
    auth_clock: Clock | None = None
    snapshots: SnapshotRequests | None = None  # None without a broker link


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patrol: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")


class RegionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    polygon: list[Annotated[list[float], Field(min_length=2, max_length=2)]] = Field(min_length=3, max_length=1000)

    @field_validator("polygon")
    @classmethod
    def _wgs84(cls, ring: list[list[float]]) -> list[list[float]]:
        for lon, lat in ring:
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError("points must be [lon, lat] in degrees")
        return ring


def create_app(svc: Services) -> FastAPI:
    app = FastAPI(title="crowd-central", docs_url=None, redoc_url=None, openapi_url=None)
    lt = svc.cfg.http.login_throttle
    throttle = LoginThrottle(
        ThrottleSettings(
            free_failures=lt.free_failures,
            base_delay_s=lt.backoff_base_s,
            max_delay_s=lt.backoff_max_s,
            forget_after_s=lt.forget_after_s,
            account_alarm_failures=lt.account_alarm_failures,
        ),
        set(svc.auth.users),
    )
    auth_clock = svc.auth_clock or svc.clock

    def session_of(request: Request, allow_query: bool = False) -> tuple[Session, bool]:
        """The caller's session and whether it came from the cookie (which then needs the CSRF header)."""
        now = auth_clock.now()
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            sess = svc.auth.verify(header[7:].strip(), now)
            if sess is not None:
                return sess, False
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            sess = svc.auth.verify(cookie, now)
            if sess is not None:
                return sess, True
        token = request.query_params.get("token") if allow_query else None
        if token:
            sess = svc.auth.verify(token, now)
            if sess is not None:
                return sess, False
        raise HTTPException(401, "login required", headers={"WWW-Authenticate": "Bearer"})

    def reader(request: Request) -> Session:
        return session_of(request)[0]

    def changer(request: Request) -> Session:
        sess, by_cookie = session_of(request)
        if by_cookie:
            sent = request.headers.get("x-csrf-token", "")
            if not sent or sent != request.cookies.get(CSRF_COOKIE) or sent != sess.csrf:
                raise HTTPException(403, "missing or wrong X-CSRF-Token header")
        return sess

    Reader = Annotated[Session, Depends(reader)]
    Changer = Annotated[Session, Depends(changer)]

    # -- health ------------------------------------------------------------------------------------
    @app.get("/healthz")
    def healthz() -> JSONResponse:
        db_ok = True
        try:
            with svc.store.db.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            db_ok = False
        mqtt_ok = bool(svc.mqtt_connected()) if svc.mqtt_connected is not None else None
        body = views.HealthView(
            status="ok" if db_ok else "degraded",
            database=db_ok,
            mqtt_connected=mqtt_ok,
            forecast_model=svc.evaluator.forecast_model,
            worker=svc.cfg.worker.index,
            workers=svc.cfg.worker.count,
            started_at=svc.started_at,
            now=svc.clock.now(),
            clock_speed=getattr(svc.clock, "speed", 1.0),
            clock_start_s=getattr(svc.clock, "start_s", None),
        )
        return JSONResponse(body.json_dict(), status_code=200 if db_ok else 503)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        if not svc.cfg.http.metrics_public:
            session_of(request)
        return Response(generate_latest(svc.telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    # -- auth --------------------------------------------------------------------------------------
    display_names = {u.username: u.display_name for u in svc.cfg.users if u.display_name}

    def display_name(username: str) -> str:
        return display_names.get(username, username)

    @app.post("/api/login")
    def login(body: LoginIn, request: Request, response: Response) -> views.LoginOut:
        now = auth_clock.now()
        peer = request.client.host if request.client else None
        client = client_address(peer, request.headers.getlist("x-forwarded-for"), svc.cfg.http.trusted_proxies)
        who = {"user": throttle.account_key(body.username), "client": client}
        verdict = throttle.check(client, body.username, now)
        if not verdict.allowed:
            wait = math.ceil(verdict.retry_after_s)
            login_log.warning("login throttled", extra={"fields": {**who, "retry_after_s": wait}})
            raise HTTPException(
                429,
                f"too many wrong passwords from this address for this account; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        user = svc.auth.check_password(body.username, body.password)
        if user is None:
            failure = throttle.failed(client, body.username, now)
            fields = {**who, "failures": failure.failures, "locked_for_s": failure.locked_for_s}
            if failure.locked_for_s > 0:
                login_log.warning("login locked for this client and account", extra={"fields": fields})
            else:
                login_log.info("login failed", extra={"fields": fields})
            if failure.account_alarm:
                login_log.warning(
                    "many failed logins for one account from all clients (not locked: see central/login_throttle.py)",
                    extra={"fields": {"user": who["user"], "failures": failure.account_failures}},
                )
            raise HTTPException(401, "wrong username or password")
        throttle.succeeded(client, body.username)
        token, sess = svc.auth.issue(user, now)
        max_age = int(svc.cfg.http.token_ttl_s)
        secure = svc.cfg.http.cookie_secure
        response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure)
        response.set_cookie(CSRF_COOKIE, sess.csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure)
        return views.LoginOut(
            token=token,
            role=user.role,
            username=user.username,
            display_name=display_name(user.username),
            expires_at=sess.expires_at,
        )

    @app.post("/api/logout")
    def logout(sess: Changer, response: Response) -> views.OkOut:
        svc.auth.revoke(sess)
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(CSRF_COOKIE)
        return views.OkOut(ok=True)

    @app.get("/api/me")
    def me(sess: Reader) -> views.MeOut:
        return views.MeOut(username=sess.username, role=sess.role, display_name=display_name(sess.username))

    # -- reading -----------------------------------------------------------------------------------
    @app.get("/api/site")
    def site(_: Reader) -> views.SiteView:
        cfg = svc.cfg
        center = cfg.site.center or list(svc.evaluator.registry.center())
        basemap = None
        if cfg.site.basemap:
            try:
                basemap = json.loads(Path(cfg.site.basemap).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                basemap = None
        return views.SiteView(
            name=cfg.site.name,
            id=cfg.site.id,
            center=list(center),
            basemap=basemap,
            tile_url=cfg.site.tile_url,
            thresholds_default=views.Thresholds(
                warning=cfg.site.thresholds.warning, critical=cfg.site.thresholds.critical
            ),
            los_bands=FRUIN_WALKWAY_BANDS,
            forecast=views.ForecastSettings(step_s=cfg.forecast.step_s, horizon_s=cfg.forecast.horizon_s),
            timezone=cfg.site.timezone,
        )

    @app.get("/api/zones")
    def zones(_: Reader) -> list[views.ZoneView]:
        return svc.evaluator.zones_view()

    @app.get("/api/zones/{zone_id}/history")
    def history(zone_id: str, _: Reader, minutes: float = Query(30.0, gt=0, le=7 * 24 * 60)) -> views.HistoryView:
        if svc.evaluator.registry.get(zone_id) is None:
            raise HTTPException(404, "no such zone")
        latest = svc.evaluator.zone_view(zone_id).latest
        end = latest.measured_at if latest else svc.clock.now()
        rows = svc.store.zone_metrics_since(zone_id, end - minutes * 60)
        return views.HistoryView(zone=zone_id, points=[views.history_point(m) for m in rows])

    @app.get("/api/alerts")
    def list_alerts(_: Reader, state: str = "open") -> list[AlertView]:
        if state not in ("open", "all", "acknowledged", "assigned", "resolved", "cleared"):
            raise HTTPException(422, "state must be open, all, or one of the alert states")
        return [svc.evaluator.alert_view(a) for a in svc.store.list_alerts(state)]

    @app.get("/api/alerts/{alert_id}")
    def get_alert(alert_id: str, _: Reader) -> AlertView:
        try:
            return svc.evaluator.alert_view(svc.store.get_alert(alert_id))
        except AlertNotFound:
            raise HTTPException(404, "no such alert") from None

    @app.get("/api/patrols")
    def patrols(_: Reader) -> list[views.PatrolView]:
        return svc.evaluator.patrols_view()

    @app.get("/api/cameras")
    def cameras(_: Reader) -> list[views.CameraView]:
        return svc.evaluator.cameras_view()

    @app.post("/api/region")
    def region(body: RegionIn, _: Reader) -> views.RegionSummary:
        return region_summary(svc.evaluator.zones_view(), body.polygon)

    # -- changing alerts ---------------------------------------------------------------------------
    def act(alert_id: str, action: Action, sess: Session, patrol: str | None = None) -> AlertView:
        if not can_change_alerts(sess.role):
            raise HTTPException(403, "only operators and admins change alerts")
        try:
            changed = svc.store.apply_action(alert_id, action, sess.username, svc.clock.now(), patrol)
        except AlertNotFound:
            raise HTTPException(404, "no such alert") from None
        except ActionError as err:
            raise HTTPException(409, str(err)) from None
        # Publishing (and merging the step into the rules) is the evaluator thread's job: hand it over.
        svc.evaluator.submit(OperatorStep(changed))
        return svc.evaluator.alert_view(changed)

    @app.post("/api/alerts/{alert_id}/ack")
    def ack(alert_id: str, sess: Changer) -> AlertView:
        return act(alert_id, "ack", sess)

    @app.post("/api/alerts/{alert_id}/assign")
    def assign(alert_id: str, body: AssignIn, sess: Changer) -> AlertView:
        return act(alert_id, "assign", sess, body.patrol)

    @app.post("/api/alerts/{alert_id}/resolve")
    def resolve(alert_id: str, sess: Changer) -> AlertView:
        return act(alert_id, "resolve", sess)

    # -- live events -------------------------------------------------------------------------------
    @app.get("/api/events")
    async def events(request: Request) -> StreamingResponse:
        session_of(request, allow_query=True)
        return StreamingResponse(
            _event_stream(svc, request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    add_snapshot_routes(app, svc, changer=changer, reader=reader)

    if WEB_DIR.is_dir():
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    return app


async def _event_stream(svc: Services, request: Request) -> AsyncIterator[bytes]:
    sub = svc.bus.subscribe()
    try:
        yield _sse("hello", {"server_started_at": svc.started_at})
        while True:
            try:
                ev = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield b": keepalive\n\n"
                continue
            if ev is None:
                return
            yield _sse(ev.name, ev.data)
    finally:
        svc.bus.unsubscribe(sub)


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
