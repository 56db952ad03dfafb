"""aiosmtpd as the Python SMTP peer: a server that accepts every message and discards it.

It is the floor a Python SMTP server can reach with asyncio and no storage, the baseline
rfcmail's SMTP throughput is compared with. Run it on its own:

    python -m interop.providers.aiosmtpd_sink --port 10026 [--max-seconds 3600]

or through ``AiosmtpdSinkProvider``. It listens on loopback only, stops on SIGTERM or
SIGINT, or by itself after ``--max-seconds``, and prints on exit how many messages and
bytes it accepted. aiosmtpd's defaults are kept (the standard asyncio event loop, bytes
not decoded), so the figure is what an aiosmtpd user gets out of the box.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from interop.providers.base import LOOPBACK, PROJECT_ROOT, Endpoint, Provider, free_port

_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class DiscardHandler:
    """aiosmtpd handler: 250 to every message, which is then forgotten (but counted)."""

    def __init__(self) -> None:
        self.messages = 0
        self.octets = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages += 1
        self.octets += len(envelope.original_content or b"")
        return "250 2.0.0 Ok: discarded"


async def serve(host: str, port: int, max_seconds: float, handler: DiscardHandler) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # A fixed hostname: without one aiosmtpd calls socket.getfqdn() for every connection,
    # a resolver round trip that would dominate a connection-per-message benchmark.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="aiosmtpd-sink.localhost", loop=loop),
        host, port)
    print(f"aiosmtpd sink listening on {host}:{port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), timeout=max_seconds)
    except TimeoutError:
        print(f"stopping after --max-seconds {max_seconds:g}", flush=True)
    finally:
        server.close()
        await server.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=LOOPBACK, help="loopback address to listen on")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=3600.0,
                        help="stop by itself after this long (a bound for forgotten runs)")
    args = parser.parse_args(argv)
    if args.host not in _LOOPBACK_HOSTS:
        parser.error("the sink listens on loopback only")
    handler = DiscardHandler()
    asyncio.run(serve(args.host, args.port, args.max_seconds, handler))
    print(f"accepted {handler.messages} messages, {handler.octets} bytes", flush=True)
    return 0


class AiosmtpdSinkProvider(Provider):
    """The sink as a child process of the current interpreter. Endpoint: ``smtp``."""

    name = "aiosmtpd"

    def __init__(self, *, max_seconds: float = 3600.0, **options: Any) -> None:
        super().__init__(**options)
        self.max_seconds = max_seconds

    def _launch(self) -> dict[str, Endpoint]:
        smtp = Endpoint(LOOPBACK, free_port())
        # ``-m`` resolves against the working directory: the checkout holding this
        # package (it is not installed into the environment).
        self._spawn([sys.executable, "-m", "interop.providers.aiosmtpd_sink",
                     "--host", smtp.host, "--port", str(smtp.port),
                     "--max-seconds", str(self.max_seconds)],
                    cwd=PROJECT_ROOT)
        self._wait_for(smtp)
        return {"smtp": smtp}


if __name__ == "__main__":
    sys.exit(main())
