"""The command line: ``python -m lib.provider.sandbox --port 8765`` serves a sandbox until Ctrl-C
(or SIGTERM) and prints the WEBHOOK_*_URL lines that point the app at it."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from lib.config.provider import OPTIONAL_WEBHOOK_ACTIONS, WEBHOOK_ACTIONS
from lib.errors import ConfigError
from lib.provider.sandbox.provider import DEFAULT_QR_TTL_SECONDS, SandboxProvider
from lib.provider.sandbox.shared import ENV_AUTO_SCAN, ENV_LATENCY, settings_from_env

DEFAULT_CLI_PORT = 8765


def _non_negative_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def _positive_float(value: str) -> float:
    number = _non_negative_float(value)
    if number == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return number


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.provider.sandbox", description="Fake WhatsApp provider speaking the webhook contract."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT, help="0 picks a free port (default %(default)s)")
    parser.add_argument("--auto-scan-seconds", type=_non_negative_float, default=None,
                        help=f"connect instances by themselves this long after connect (default: ${ENV_AUTO_SCAN} or off)")
    parser.add_argument("--latency-ms", type=_non_negative_int, default=None,
                        help=f"delay every webhook response (default: ${ENV_LATENCY} or 0)")
    parser.add_argument("--qr-ttl-seconds", type=_positive_float, default=DEFAULT_QR_TTL_SECONDS)
    args = parser.parse_args(argv)

    try:
        env_kwargs = settings_from_env()
    except ConfigError as exc:
        parser.error(exc.message)
    provider = SandboxProvider(
        host=args.host,
        port=args.port,
        qr_ttl_seconds=args.qr_ttl_seconds,
        auto_scan_seconds=args.auto_scan_seconds if args.auto_scan_seconds is not None else env_kwargs["auto_scan_seconds"],
        latency_ms=args.latency_ms if args.latency_ms is not None else env_kwargs["latency_ms"],
    )
    try:
        provider.start()
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    settings = provider.webhook_settings()
    print(f"# WhatsApp sandbox listening on {provider.base_url} (Ctrl-C to stop)")
    for action in WEBHOOK_ACTIONS + OPTIONAL_WEBHOOK_ACTIONS:
        print(f"WEBHOOK_{action.upper()}_URL={settings.url_for(action)}")
    sys.stdout.flush()
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops it even when started from a shell that ignores SIGINT (a background job, where
        # Python keeps it ignored); `kill`/docker stop (SIGTERM) exit cleanly too.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
