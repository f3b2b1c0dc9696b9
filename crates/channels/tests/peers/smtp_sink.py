"""A tiny SMTP sink for crates/channels tests (Debian python3-aiosmtpd).

Usage: python3 smtp_sink.py OUTDIR
Listens on 127.0.0.1 (a free port) and prints one JSON line per event:
  {"event": "listening", "port": N}
  {"event": "message", "mail_from": ..., "rcpt_tos": [...], "file": OUTDIR/N.eml}
Each received message is written verbatim (as received in DATA) to OUTDIR.
"""
import asyncio
import json
import os
import sys

from aiosmtpd.smtp import SMTP

OUTDIR = sys.argv[1]
counter = 0


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Handler:
    async def handle_DATA(self, server, session, envelope):
        global counter
        counter += 1
        path = os.path.join(OUTDIR, "%d.eml" % counter)
        with open(path, "wb") as f:
            f.write(envelope.original_content)
        out({"event": "message", "mail_from": envelope.mail_from,
             "rcpt_tos": envelope.rcpt_tos, "file": path})
        return "250 OK"


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="sink.test", data_size_limit=50 * 1024 * 1024),
        "127.0.0.1", 0)
    out({"event": "listening", "port": server.sockets[0].getsockname()[1]})
    # Stop when the test closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


asyncio.run(main())
