"""API stage, login throttling: exponential back-off per (client address, account); pure but for the time passed in.

Why per client *and* account: a lock keyed on the account alone lets anyone who can reach the login page
lock the operators out of their own consoles with a few wrong passwords (issue 16, point 7). Keyed on the
pair, a wrong-password storm from one address slows that address for that account only.

Why no per-account lock across all clients: whoever can renew such a lock (one more wrong password each
time it runs out, from anywhere) keeps the real operators out for as long as they like, however high the
threshold or short the back-off; a short back-off only changes how often they must send. Distributed
guessing (many addresses, one account) is instead bounded by argon2's cost and each address's own
back-off, and *detected*: once an account collects `account_alarm_failures` failures from all clients
within `account_window_s`, `failed()` says so (once per window) and the API logs a warning, so a person can
block the addresses at the firewall or proxy.

Unknown usernames share one key per client (`UNKNOWN`), so spraying invented names neither grows the
table nor gives one address fresh free attempts.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import deque
from dataclasses import dataclass

UNKNOWN = "<unknown user>"


@dataclass(frozen=True)
class ThrottleSettings:
    free_failures: int = 5  # failures allowed from one client for one account before any wait
    base_delay_s: float = 1.0  # the first wait; each further failure doubles it
    max_delay_s: float = 300.0  # the cap: at most one guess per this long per address and account
    forget_after_s: float = 900.0  # a pair with no failure for this long starts afresh
    account_alarm_failures: int = 50  # failures for one account from all clients that raise the alarm
    account_window_s: float = 600.0
    max_pairs: int = 10_000  # memory bound; the stalest pair is forgotten first


@dataclass(frozen=True)
class Verdict:
    """`allowed`, else how long to wait (`retry_after_s`); `failures` counted for the pair so far."""

    allowed: bool
    retry_after_s: float
    failures: int


@dataclass(frozen=True)
class Failure:
    """What one more failure did: the pair's count, the wait it now imposes (0: none yet) and whether the
    account-wide alarm just went off (`account_failures` in the window)."""

    failures: int
    locked_for_s: float
    account_alarm: bool
    account_failures: int


@dataclass
class _Pair:
    failures: int
    last_failure: float
    locked_until: float


def backoff_s(failures: int, s: ThrottleSettings) -> float:
    """The wait after `failures` consecutive failures: 0 up to `free_failures`, then 1, 2, 4 ... x base, capped."""
    over = failures - s.free_failures
    if over < 0:
        return 0.0
    return min(s.base_delay_s * 2.0 ** min(over, 62), s.max_delay_s)


class LoginThrottle:
    def __init__(self, settings: ThrottleSettings, known_users: set[str] | frozenset[str]) -> None:
        self.s = settings
        self._known = frozenset(known_users)
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._account: dict[str, deque[float]] = {}
        self._alarmed_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def account_key(self, username: str) -> str:
        return username if username in self._known else UNKNOWN

    def check(self, client: str, username: str, now_s: float) -> Verdict:
        """May this client try this account now? Looking does not count as a failure."""
        key = (client, self.account_key(username))
        with self._lock:
            pair = self._live_pair(key, now_s)
            if pair is None:
                return Verdict(True, 0.0, 0)
            wait = pair.locked_until - now_s
            return Verdict(wait <= 0, max(wait, 0.0), pair.failures)

    def failed(self, client: str, username: str, now_s: float) -> Failure:
        account = self.account_key(username)
        key = (client, account)
        with self._lock:
            pair = self._live_pair(key, now_s) or _Pair(0, now_s, now_s)
            pair.failures += 1
            pair.last_failure = now_s
            delay = backoff_s(pair.failures, self.s)
            pair.locked_until = now_s + delay
            self._pairs.pop(key, None)  # re-insert: the dict's order is then least recently failed first
            self._pairs[key] = pair
            while len(self._pairs) > self.s.max_pairs:
                self._pairs.pop(next(iter(self._pairs)))
            alarm, count = self._count_account(account, now_s)
            return Failure(pair.failures, delay, alarm, count)

    def succeeded(self, client: str, username: str) -> None:
        """A right password from this client ends its back-off for this account (and only that)."""
        with self._lock:
            self._pairs.pop((client, self.account_key(username)), None)

    def _live_pair(self, key: tuple[str, str], now_s: float) -> _Pair | None:
        pair = self._pairs.get(key)
        if pair is not None and now_s - pair.last_failure >= self.s.forget_after_s and now_s >= pair.locked_until:
            del self._pairs[key]
            return None
        return pair

    def _count_account(self, account: str, now_s: float) -> tuple[bool, int]:
        if account == UNKNOWN:
            return False, 0
        q = self._account.setdefault(account, deque(maxlen=self.s.account_alarm_failures * 4))
        q.append(now_s)
        while q and q[0] <= now_s - self.s.account_window_s:
            q.popleft()
        if len(q) < self.s.account_alarm_failures:
            return False, len(q)
        last = self._alarmed_at.get(account)
        if last is not None and now_s - last < self.s.account_window_s:
            return False, len(q)
        self._alarmed_at[account] = now_s
        return True, len(q)


def client_address(peer: str | None, forwarded_for: list[str], trusted: list[str]) -> str:
    """The address a login is throttled by.

    X-Forwarded-For is believed only when the TCP peer is a configured trusted proxy (`http.trusted_proxies`,
    default none): anyone else could write any address there and escape their back-off. Its hops are read
    right to left (each proxy appends the address it saw), skipping trusted proxies; the first other hop is
    the client. IPv6 clients are keyed by their /64, which one household or host usually holds whole.
    """
    nets = [ipaddress.ip_network(t, strict=False) for t in trusted]
    addr = _ip(peer)
    if addr is None:
        return peer or "?"
    if nets and _within(addr, nets):
        hops = [h.strip() for line in forwarded_for for h in line.split(",") if h.strip()]
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                break  # a malformed hop: nothing left of it can be believed; keep the last trusted one
            addr = ip
            if not _within(ip, nets):
                break
    if addr.version == 6 and not getattr(addr, "ipv4_mapped", None):
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(getattr(addr, "ipv4_mapped", None) or addr)


def _ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text or "")
    except ValueError:
        return None


def _within(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    return any(ip.version == n.version and ip in n for n in nets)
