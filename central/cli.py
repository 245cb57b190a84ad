"""Process: `crowd-central`: run the service, hash a password, check a config.

Subcommands are argparse sub-parsers registered in SUBCOMMANDS order, so another subcommand
(e.g. `record`/`replay`) is one `add_parser` function plus one entry.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from central.config import ConfigError, load
from central.playback import cli as playback_cli


def _run(args: argparse.Namespace) -> int:
    from central.obs import setup_logging
    from central.service import CentralService

    setup_logging(args.log_level)
    cfg = load(args.config)
    if args.speed is not None or args.clock_start is not None:
        clock = cfg.clock.model_copy(
            update={
                "speed": cfg.clock.speed if args.speed is None else args.speed,
                "start_s": cfg.clock.start_s if args.clock_start is None else args.clock_start,
            }
        )
        cfg = cfg.model_copy(update={"clock": clock})
    CentralService(cfg).serve()
    return 0


def _check(args: argparse.Namespace) -> int:
    cfg = load(args.config)
    print(
        f"{args.config}: ok ({len(cfg.zones)} zones, {len(cfg.users)} users, database {cfg.database.url.split(':')[0]})"
    )
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    from central.auth import hash_password

    if args.stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ", file=sys.stderr)
            return 2
    if len(password) < 8:
        print("use at least 8 characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the central service (ingest, forecasts, alerts, HTTP API)")
    p.add_argument("config", help="site config YAML (see configs/central.example.yaml)")
    p.add_argument("--log-level", default="INFO")
    p.add_argument("--speed", type=playback_cli.speed_arg, help="run time this many times faster (clock.speed)")
    p.add_argument("--clock-start", type=float, help="UNIX time where scaled and wall time agree (clock.start_s)")
    p.set_defaults(func=_run)


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-config", help="validate a config and exit")
    p.add_argument("config")
    p.set_defaults(func=_check)


def _add_hash(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hash-password", help="print an argon2 hash for a user's password_hash")
    p.add_argument("--stdin", action="store_true", help="read the password from stdin instead of a prompt")
    p.set_defaults(func=_hash_password)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_run,
    _add_check,
    _add_hash,
    playback_cli.add_record,
    playback_cli.add_replay,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crowd-central", description="Crowd analytics central service.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
