"""Drive the real token, refresh, revocation and session code through time and record what it accepted.

A ``Scenario`` scripts what the user does (login, requests, logout, …) and when an attacker copies a
credential. ``simulate`` moves a clock from event to event — virtual by default (time-machine moves
``time.time`` and ``datetime``, so PyJWT's ``exp`` checks and fakeredis TTLs move together) — and
every ``step`` seconds asks the real verifier, guard or store whether each credential, the stolen
ones included, would be accepted now. Probes are read-only: a session is *peeked* (never slid), a
refresh token is compared with its family's state (never rotated), so measuring changes nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import time_machine

from authkit.study.approaches import Approach
from authkit.errors import AuthkitError

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)  # virtual time zero of every simulation
STEP = 5.0  # seconds between probes
USER = "alice"
EVENTS = ("login", "request", "logout", "logout_everywhere", "password_change", "permission_change", "steal")


def seconds(value: float | timedelta) -> float:
    """``value`` in seconds: a ``timedelta`` or a number of seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True)
class Event:
    """Something that happens ``at`` seconds after the start; ``credential`` names what a theft copies."""

    at: float
    kind: str
    credential: str = ""


@dataclass
class Scenario:
    """What happens and when, how long to watch, and how often to probe (``step=None``: never)."""

    duration: float | timedelta
    step: float | timedelta | None = STEP
    probe_from: float | timedelta = 0.0
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.duration, self.probe_from = seconds(self.duration), seconds(self.probe_from)
        self.step = None if self.step is None else seconds(self.step)
        if self.step is not None and self.step <= 0:
            raise ValueError("step must be positive (or None for no probes)")

    def at(self, when: float | timedelta, kind: str, credential: str = "") -> Scenario:
        """Add one event; returns the scenario so calls chain."""
        if kind not in EVENTS:
            raise ValueError(f"unknown event {kind!r}; choose one of {EVENTS}")
        self.events.append(Event(seconds(when), kind, credential))
        return self

    def login(self, at: float | timedelta = 0.0) -> Scenario:
        return self.at(at, "login")

    def request(self, at: float | timedelta) -> Scenario:
        return self.at(at, "request")

    def requests(self, times: list[float | timedelta]) -> Scenario:
        """One user request at each of ``times``."""
        for when in times:
            self.request(when)
        return self

    def every(self, gap: float | timedelta, *, start: float | timedelta, end: float | timedelta) -> Scenario:
        """User requests every ``gap`` seconds from ``start`` up to and including ``end``."""
        gap, start, end = seconds(gap), seconds(start), seconds(end)
        return self.requests([start + i * gap for i in range(int((end - start) // gap) + 1)])

    def logout(self, at: float | timedelta) -> Scenario:
        return self.at(at, "logout")

    def logout_everywhere(self, at: float | timedelta) -> Scenario:
        return self.at(at, "logout_everywhere")

    def change_password(self, at: float | timedelta) -> Scenario:
        """Every login ends; the user logs in again with the new password on this device."""
        return self.at(at, "password_change")

    def change_permissions(self, at: float | timedelta) -> Scenario:
        return self.at(at, "permission_change")

    def steal(self, credential: str, at: float | timedelta) -> Scenario:
        """The attacker copies the user's current ``credential`` ("access", "refresh", "session" or "all")."""
        return self.at(at, "steal", credential)

    def probe_times(self) -> list[float]:
        """Where the probes fall: ``probe_from``, then every ``step`` seconds up to ``duration``."""
        if self.step is None:
            return []
        count = int(math.floor((self.duration - self.probe_from) / self.step + 1e-9)) + 1
        return [round(self.probe_from + i * self.step, 6) for i in range(max(count, 0))]


@dataclass(frozen=True)
class RequestRecord:
    """One request the user made: accepted or why not, whether Redis was written, the deadlines after it."""

    at: float
    accepted: bool
    reason: str = ""
    wrote: bool = False
    idle_deadline: float | None = None
    absolute_deadline: float | None = None


@dataclass
class Timeline:
    """What the probes saw: per credential label, accepted (True), refused (False) or not held (None)."""

    approach: str
    step: float | None
    times: list[float]
    series: dict[str, list[bool | None]]
    events: list[Event]
    requests: list[RequestRecord]
    logins: list[RequestRecord] = field(default_factory=list)

    def event_time(self, kind: str) -> float:
        """When the first event of ``kind`` happened."""
        for event in self.events:
            if event.kind == kind:
                return event.at
        raise ValueError(f"no {kind!r} event in this timeline")

    def refused_from(self, label: str, after: float) -> float | None:
        """The first probe at or after ``after`` that refused ``label``; None if none did."""
        for when, accepted in zip(self.times, self.series[label]):
            if when >= after and accepted is False:
                return when
        return None

    def revocation_window(self, credential: str = "stolen access", after: str = "logout") -> float:
        """Seconds the credential was still accepted after the ``after`` event (inf: to the end)."""
        start = self.event_time(after)
        refused = self.refused_from(credential, start)
        return math.inf if refused is None else refused - start

    def death(self, label: str) -> float | None:
        """The first probe that refused ``label`` after one had accepted it: when that credential died."""
        seen = False
        for when, accepted in zip(self.times, self.series[label]):
            seen = seen or accepted is True
            if seen and accepted is False:
                return when
        return None

    def spans(self, label: str, value: bool = True) -> list[tuple[float, float]]:
        """``(start, width)`` runs where ``label`` was ``value``; each probe stands for one step."""
        runs: list[tuple[float, float]] = []
        for when, accepted in zip(self.times, self.series[label]):
            if accepted is value and runs and math.isclose(sum(runs[-1]), when):
                runs[-1] = (runs[-1][0], runs[-1][1] + (self.step or 0))
            elif accepted is value:
                runs.append((when, self.step or 0))
        return runs

    @property
    def writes(self) -> int:
        """How many of the user's requests wrote to Redis (a slide or a rotation)."""
        return sum(r.wrote for r in self.requests)


class VirtualClock:
    """time-machine's clock: moves ``time.time`` and ``datetime`` at once, without waiting."""

    def __init__(self, start: datetime = START) -> None:
        self.origin = start

    def __enter__(self) -> VirtualClock:
        self._travel = time_machine.travel(self.origin, tick=False)
        self._traveller = self._travel.start()
        self._at = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self._travel.stop()

    def move_to(self, offset: float) -> None:
        """Jump to ``offset`` seconds after the start."""
        self._traveller.move_to(self.origin + timedelta(seconds=offset))
        self._at = offset

    def now(self) -> float:
        """Seconds since the start: where the last ``move_to`` left the clock (it does not tick)."""
        return self._at

    def offset(self, moment: datetime) -> float:
        """Seconds from the start to ``moment``."""
        return (moment - self.origin).total_seconds()


class RealClock:
    """The wall clock, for a real redis-server, whose own clock (Redis ``TIME``) cannot be moved."""

    def __enter__(self) -> RealClock:
        self._zero = time.monotonic()
        self.origin = datetime.now(timezone.utc)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def move_to(self, offset: float) -> None:
        """Wait until ``offset`` seconds after the start."""
        delay = self._zero + offset - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def now(self) -> float:
        """Seconds since the start, as they pass: later than the last ``move_to`` on a busy machine."""
        return time.monotonic() - self._zero

    def offset(self, moment: datetime) -> float:
        """Seconds from the start to ``moment``."""
        return (moment - self.origin).total_seconds()


def simulate(
    approach: Approach, scenario: Scenario, *, clock: VirtualClock | RealClock | None = None, user: str = USER
) -> Timeline:
    """Play ``scenario`` against ``approach`` and probe every credential every ``step`` seconds."""
    clock = clock or VirtualClock()
    events = sorted(scenario.events, key=lambda e: e.at)  # stable: same-time events keep script order
    held: dict[str, str] = {}
    stolen: dict[str, str] = {}
    records: list[RequestRecord] = []
    logins: list[RequestRecord] = []
    probes: list[dict[str, bool]] = []
    times: list[float] = []  # when each probe finished: on the wall clock, a busy machine makes probes late
    with clock:
        pending = iter(events)
        upcoming = next(pending, None)
        for when in [*scenario.probe_times(), math.inf]:
            while upcoming is not None and upcoming.at <= when:
                clock.move_to(upcoming.at)
                held = _apply(approach, upcoming, user, held, stolen, records, clock)
                if upcoming.kind in ("login", "password_change"):
                    logins.append(_record(upcoming.at, approach.state(held), clock))
                upcoming = next(pending, None)
            if when == math.inf:
                break
            clock.move_to(when)
            seen = {f"user {kind}": approach.probe(kind, value) for kind, value in held.items()}
            seen.update({f"stolen {kind}": approach.probe(kind, value) for kind, value in stolen.items()})
            probes.append(seen)
            times.append(round(clock.now(), 6))
    labels = list(dict.fromkeys(label for seen in probes for label in seen))
    labels.sort(key=lambda label: label.startswith("stolen"))
    series = {label: [seen.get(label) for seen in probes] for label in labels}
    return Timeline(approach.name, scenario.step, times, series, events, records, logins)


def _record(at: float, info: dict[str, Any], clock: VirtualClock | RealClock) -> RequestRecord:
    """An accepted request (or login) and what the server said about it, deadlines as offsets."""
    deadlines = {name: clock.offset(info[name]) for name in ("idle_deadline", "absolute_deadline") if name in info}
    return RequestRecord(at, True, "", bool(info.get("wrote")), **deadlines)


def _apply(approach: Approach, event: Event, user: str, held: dict[str, str], stolen: dict[str, str],
           records: list[RequestRecord], clock: VirtualClock | RealClock) -> dict[str, str]:
    """One event's effect on the real code; returns what the user's client holds afterwards."""
    if event.kind == "login":
        return approach.login(user)
    if event.kind == "request":
        if not held:
            records.append(RequestRecord(event.at, False, "no_credential"))
            return held
        try:
            held, info = approach.request(held)
        except AuthkitError as err:
            records.append(RequestRecord(event.at, False, err.reason))
            return held
        records.append(_record(event.at, info, clock))
        return held
    if event.kind == "logout":
        if held:
            approach.logout(held)
        return {}
    if event.kind in ("logout_everywhere", "password_change"):
        approach.logout_everywhere(user)
        return approach.login(user) if event.kind == "password_change" else {}
    if event.kind == "permission_change":
        approach.change_permissions(user)
        return held
    kinds = list(held) if event.credential == "all" else [event.credential]
    missing = [kind for kind in kinds if kind not in held]
    if missing or not kinds:
        raise ValueError(f"at {event.at}s the user holds no {missing or event.credential!r} to steal")
    stolen.update({kind: held[kind] for kind in kinds})
    return held
