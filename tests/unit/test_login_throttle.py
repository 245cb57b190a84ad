"""Login throttling (central/login_throttle.py), time passed in: back-off per (client, account) that grows
1, 2, 4 ... s up to its cap, never spills over to another client, and the client address behind proxies."""

from __future__ import annotations

import pytest

from central.login_throttle import UNKNOWN, LoginThrottle, ThrottleSettings, backoff_s, client_address

S = ThrottleSettings(free_failures=3, base_delay_s=1.0, max_delay_s=8.0, forget_after_s=100.0, account_alarm_failures=6)


def _throttle() -> LoginThrottle:
    return LoginThrottle(S, {"olga", "vera"})


def test_backoff_is_free_then_doubles_up_to_the_cap() -> None:
    assert [backoff_s(n, S) for n in range(1, 9)] == [0, 0, 1, 2, 4, 8, 8, 8]
    assert backoff_s(10_000, S) == 8.0  # no overflow far past the cap


def test_a_storm_from_one_client_locks_only_that_client_for_that_account() -> None:
    t = _throttle()
    now = 0.0
    locks = []
    for _ in range(6):
        assert t.check("10.0.0.9", "olga", now).allowed
        locks.append(t.failed("10.0.0.9", "olga", now).locked_for_s)
        now += locks[-1]  # the attacker retries the moment the wait is over
    assert locks == [0, 0, 1, 2, 4, 8]
    v = t.check("10.0.0.9", "olga", now - 0.5)
    assert not v.allowed and v.retry_after_s == pytest.approx(0.5) and v.failures == 6
    assert t.check("10.0.0.1", "olga", now - 0.5).allowed  # the operator at her own console
    assert t.check("10.0.0.9", "vera", now - 0.5).allowed  # the attacker's address, another account


def test_a_right_password_clears_the_pair_and_quiet_time_forgets_it() -> None:
    t = _throttle()
    for _ in range(4):
        t.failed("c", "olga", 0.0)
    assert not t.check("c", "olga", 0.5).allowed
    t.succeeded("c", "olga")
    assert t.check("c", "olga", 0.5) == t.check("c", "olga", 0.5) and t.check("c", "olga", 0.5).failures == 0
    for _ in range(4):
        t.failed("c", "vera", 0.0)
    assert t.check("c", "vera", 50.0).failures == 4
    assert t.check("c", "vera", 100.0).failures == 0  # forgotten
    assert t.failed("c", "vera", 100.0).locked_for_s == 0.0  # free attempts again


def test_invented_usernames_share_one_key_per_client() -> None:
    t = _throttle()
    for i in range(4):
        t.failed("c", f"guess{i}", 0.0)
    assert t.account_key("guess99") == UNKNOWN
    assert not t.check("c", "anything-else", 0.5).allowed  # spraying names gives no fresh attempts
    assert t.check("c", "olga", 0.5).allowed


def test_many_clients_on_one_account_raise_one_alarm_per_window_and_lock_nobody_else() -> None:
    t = _throttle()
    alarms = [t.failed(f"10.1.0.{i}", "olga", float(i)).account_alarm for i in range(12)]
    assert alarms.count(True) == 1 and alarms.index(True) == 5
    assert t.check("10.0.0.1", "olga", 12.0).allowed
    assert t.failed("10.1.0.99", "olga", 700.0).account_alarm is False  # window restarted: 1 failure in it


def test_the_table_is_bounded() -> None:
    t = LoginThrottle(ThrottleSettings(max_pairs=10), {"olga"})
    for i in range(50):
        t.failed(f"c{i}", "olga", 0.0)
    assert len(t._pairs) == 10


def test_client_address_believes_forwarded_for_only_from_a_trusted_proxy() -> None:
    assert client_address("10.0.0.5", ["1.2.3.4"], []) == "10.0.0.5"  # default: header ignored
    assert client_address("10.0.0.5", ["1.2.3.4"], ["10.0.0.6"]) == "10.0.0.5"  # peer is not the proxy
    assert client_address("10.0.0.6", ["1.2.3.4"], ["10.0.0.0/24"]) == "1.2.3.4"
    # The client wrote a fake first hop; the proxy appended what it saw: the rightmost untrusted hop wins.
    assert client_address("10.0.0.6", ["6.6.6.6, 1.2.3.4"], ["10.0.0.6"]) == "1.2.3.4"
    assert client_address("10.0.0.6", ["1.2.3.4", "10.0.0.7"], ["10.0.0.0/24"]) == "1.2.3.4"  # two proxies
    assert client_address("10.0.0.6", ["junk, 10.0.0.7"], ["10.0.0.0/24"]) == "10.0.0.7"
    assert client_address("10.0.0.6", [], ["10.0.0.6"]) == "10.0.0.6"
    assert client_address("2001:db8:1:2:3:4:5:6", [], []) == "2001:db8:1:2::/64"
    assert client_address("::ffff:10.0.0.5", [], []) == "10.0.0.5"
    assert client_address(None, [], []) == "?"
    assert client_address("testclient", [], []) == "testclient"
