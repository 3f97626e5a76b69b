"""`cs-console drain`: receive a Supabase Log Drain (custom endpoint or OTLP) and report on it.

    CS_CONSOLE_DRAIN_SECRET=... cs-console drain serve [--listen 127.0.0.1:9513] [--tls-cert C --tls-key K]
    cs-console drain status [--json]

In the Supabase dashboard (Project Settings > Log Drains > Custom Endpoint):
URL = this receiver (behind the bastion's TLS proxy, or --tls-cert), gzip on,
and one custom header: the profile's `drain_secret_header` (X-Drain-Secret)
with the secret's value. Or an OTLP drain (Protocol HTTP/Protobuf): Endpoint = this
receiver's URL + /v1/logs, the same custom header. Events go to the profile's store (`drain = "local"`:
a ring in the state dir; `"team"`: the team PostgreSQL), and the Logs pane
and `cs-console logs` tail them. Exit codes: 0 stopped cleanly, 2 bad
setup (no secret, bad --listen, TLS files), 1 could not listen.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cs_console.commands.registration import add_command


def register(sub: Any) -> None:
    p = sub.add_parser("drain", help="Receive a Supabase Log Drain and report on it.", description="Receive a Supabase Log Drain and report on it.")
    dsub = p.add_subparsers(dest="drain_command", metavar="ACTION", required=True)
    serve = add_command(dsub, "serve", "Run the drain receiver (a Supabase custom-endpoint or OTLP Log Drain posts here).", _serve)
    serve.add_argument("--listen", metavar="HOST:PORT", default=None, help="address to listen on (default: the profile's drain_listen, 127.0.0.1:9513)")
    serve.add_argument("--tls-cert", metavar="PATH", default=None, help="serve HTTPS with this certificate (PEM; with --tls-key)")
    serve.add_argument("--tls-key", metavar="PATH", default=None, help="the certificate's private key (PEM)")
    serve.add_argument("--store", choices=("local", "team"), default=None, help="override the profile's drain store")
    status = add_command(dsub, "status", "Per-source counters of the running receiver.", _status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--listen", metavar="HOST:PORT", default=None, help="the receiver's address (default: the profile's drain_listen)")
    status.add_argument("--cacert", metavar="PATH", default=None, help="ask over HTTPS, trusting this certificate (a receiver run with --tls-cert)")
    p.set_defaults(handler=lambda a: (p.print_help(sys.stderr), 2)[1])


def _fail(message: str, code: int = 2) -> int:
    from cs_console.domain.safe_text import safe_text

    print(f"drain: {safe_text(message, 400)}", file=sys.stderr)
    return code


DEMO_SECRET_FILE = "demo-secret"  # `drain serve --demo`'s one-off secret, 0600, for `drain status --demo`


def secret_problem(secret: str | None, env_name: str) -> str | None:
    """What is wrong with a shared secret, said without its value (None: usable)."""
    if not secret:
        return None
    if len(secret) < 16:
        return f"${env_name} is shorter than 16 characters: use a long random secret (e.g. `openssl rand -hex 32`)"
    if not all("!" <= ch <= "~" for ch in secret):
        return (f"${env_name} holds a space, a control character or a non-ASCII character: an HTTP header"
                " value needs printable ASCII (e.g. `openssl rand -hex 32`)")
    return None


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[v6]:PORT` -> (host, port); ValueError with what was expected."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen: expected HOST:PORT such as 127.0.0.1:9513 (got {text!r})")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from cs_console.services.session import open_session_or_exit

    # No profile is fine (the ring goes under profile "default"); only --demo makes it the demo.
    session = open_session_or_exit(args, local_only=True)
    profile = session.profile
    try:
        host, port = parse_listen(args.listen or profile.drain_listen)
    except ValueError as exc:
        return _fail(str(exc))
    secret = profile.secret("drain_secret_env")
    if not secret and session.demo is not None:
        import secrets

        # The demo posts to itself: a one-off secret (never shown) is enough to try the drain.
        secret = secrets.token_hex(24)
    if not secret:
        return _fail(
            f"no shared secret: set ${profile.drain_secret_env} (the value the drain sends in its "
            f"{profile.drain_secret_header} header; e.g. `openssl rand -hex 32`)"
        )
    problem = secret_problem(secret, profile.drain_secret_env)
    if problem:
        return _fail(problem)
    if bool(args.tls_cert) != bool(args.tls_key):
        return _fail("--tls-cert and --tls-key go together")
    ssl_context = None
    if args.tls_cert:
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ssl_context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            return _fail(f"TLS certificate/key: {getattr(exc, 'strerror', None) or exc}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    # httpx logs every request at INFO: the demo's poster would print a line per batch.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    store = args.store or (profile.drain if profile.drain != "off" else "local")
    if not is_loopback(host):
        how = "TLS on" if ssl_context else "NO TLS: put it behind a TLS proxy or give --tls-cert/--tls-key"
        print(f"drain: warning: listening on {host}, reachable from other machines ({how})", file=sys.stderr)
    if profile.drain == "off" and session.demo is None:
        print(f"drain: note: profile {profile.name!r} has drain = \"off\": consoles keep polling the logs endpoint"
              f" (set drain = \"{store}\" to tail this drain)", file=sys.stderr)
    try:
        return asyncio.run(_run(session, store, host, port, secret, ssl_context))
    except _Problem as exc:
        return _fail(str(exc), exc.code)


class _Problem(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


async def _run(session: Any, store: str, host: str, port: int, secret: str, ssl_context: Any) -> int:
    import asyncio
    import signal

    from cs_console.backends.drain.dedupe import RecentIds
    from cs_console.backends.drain.receiver import DrainReceiver, ReceiverSettings, start_site
    from cs_console.backends.drain.ring import RingLimits, RingStore
    from cs_console.wiring.drain import drain_dir

    profile = session.profile
    recent = RecentIds()
    sink: Any
    if store == "team":
        from cs_console.stores.drain_team import PgDrainSink

        target = session.team_store
        try:
            sink = PgDrainSink(
                target.dsn if target is not None else profile.team_dsn,
                target.password if target is not None else profile.secret("team_password_env"),
                retention_hours=profile.drain_retention_hours,
            )
        except ValueError as exc:
            raise _Problem(str(exc), 2) from None
        where = "team PostgreSQL (cs_console.drain_events)"
    else:
        limits = RingLimits(retention_seconds=profile.drain_retention_hours * 3600, max_bytes=profile.drain_max_mb << 20)
        sink = RingStore(drain_dir(session), limits)
        try:
            recovered = sink.open(recent)
        except OSError as exc:
            raise _Problem(f"cannot open the ring in {drain_dir(session)}: {exc.strerror}", 2) from None
        where = f"local ring {drain_dir(session)} ({recovered:,} stored ids remembered)"
    receiver = DrainReceiver(sink, ReceiverSettings(secret=secret, header=profile.drain_secret_header), recent)
    try:
        runner, bound = await start_site(receiver.app(), host, port, ssl_context)
    except OSError as exc:
        raise _Problem(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 1) from None
    scheme = "https" if ssl_context else "http"
    shown = f"[{host}]" if ":" in host else host
    told = f"secret from ${profile.drain_secret_env}"
    if session.demo is not None and secret != profile.secret("drain_secret_env"):
        from cs_console.stores.private_files import write_private_atomic

        # The demo's one-off secret is never shown: `drain status --demo` reads it from this 0600 file.
        write_private_atomic(drain_dir(session) / DEMO_SECRET_FILE, secret)
        told = "a one-off demo secret (not shown; `drain status --demo` finds it)"
    print(f"drain: listening on {scheme}://{shown}:{bound}/ (OTLP: {scheme}://{shown}:{bound}/v1/logs) -> {where};"
          f" {told} in header {profile.drain_secret_header}", file=sys.stderr, flush=True)
    poster = None
    if session.demo is not None:
        from cs_console.backends.demo.drain_poster import post_demo_logs
        from cs_console.wiring.demo import build_demo_project

        poster = asyncio.get_running_loop().create_task(post_demo_logs(
            build_demo_project(session, one_shot=False), f"{scheme}://{shown}:{bound}/", profile.drain_secret_header, secret,
            verify=ssl_context is None,
        ))
        print(f"drain: the demo ({session.demo.scenario}) posts its logs here; tail them: cs-console logs --demo --source drain --follow",
              file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 60.0)
            except asyncio.TimeoutError:
                if isinstance(sink, RingStore):
                    await asyncio.to_thread(sink.prune)
                else:
                    await sink.prune()
    finally:
        if poster is not None:
            poster.cancel()
        await runner.cleanup()
        if isinstance(sink, RingStore):
            sink.close()
        else:
            await sink.close()
    print("drain: stopped", file=sys.stderr)
    return 0


def _status(args: argparse.Namespace) -> int:
    import json

    import httpx

    from cs_console.services.session import open_session_or_exit

    session = open_session_or_exit(args, local_only=True)
    profile = session.profile
    try:
        host, port = parse_listen(args.listen or profile.drain_listen)
    except ValueError as exc:
        return _fail(str(exc))
    env_name = profile.drain_secret_env
    secret = profile.secret("drain_secret_env")
    if not secret and session.demo is not None:
        from cs_console.wiring.drain import drain_dir

        try:
            secret = (drain_dir(session) / DEMO_SECRET_FILE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            secret = None
    if not secret:
        where = " (or start `cs-console drain serve --demo` first)" if session.demo is not None else ""
        return _fail(f"no shared secret: set ${env_name} to the value `drain serve` runs with{where}")
    problem = secret_problem(secret, env_name)
    if problem:
        return _fail(problem)
    verify: Any = True
    if args.cacert:
        import ssl

        try:
            verify = ssl.create_default_context(cafile=args.cacert)
        except (OSError, ssl.SSLError) as exc:
            return _fail(f"--cacert: {getattr(exc, 'strerror', None) or type(exc).__name__}")
    elif not is_loopback(host):
        return _fail(f"{host} is not loopback: the secret is not sent there over plain HTTP (give --cacert for HTTPS)")
    shown = f"[{host}]" if ":" in host else host
    url = f"{'https' if args.cacert else 'http'}://{shown}:{port}/status"
    try:
        response = httpx.get(url, headers={profile.drain_secret_header: secret}, timeout=5.0, verify=verify)
    except httpx.HTTPError as exc:
        # The exception's text is not shown: it can quote the request, headers included.
        return _fail(f"no receiver at {url} ({type(exc).__name__}): is `cs-console drain serve` running?", 1)
    if response.status_code == 401:
        return _fail(f"the receiver refused the secret: set ${env_name} as `drain serve` has it", 1)
    try:
        data = response.json()
    except ValueError:
        return _fail(f"{url} answered {response.status_code} without JSON", 1)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"store {data.get('store')}  up {data.get('uptime_s')} s  requests {data.get('requests')}")
    for name, c in (data.get("sources") or {}).items():
        print(f"  {name:<20} accepted {c['accepted']:>9,}  duplicates {c['duplicates']:>7,}  last event {c['last_event'] or '-'}")
    otlp = data.get("otlp") or {}
    if otlp.get("requests"):
        print(f"  OTLP (/v1/logs): {otlp['requests']:,} requests, {otlp.get('rejected_records', 0):,} log records rejected")
    rejected = data.get("rejected") or {}
    if rejected:
        print("  rejected: " + ", ".join(f"{k}: {v}" for k, v in rejected.items()))
    return 0
