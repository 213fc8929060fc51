"""An SMTP relay stand-in for the benchmarks: accepts everything, answers each DATA after a
delay (a hosted relay over TLS often takes 30 ms or more), keeps nothing.

    python bench/smtp_sink.py PORT [DELAY_MS]
"""
import asyncio
import sys

from aiosmtpd.controller import Controller


class DelayedSink:
    def __init__(self, delay_ms):
        self.delay = delay_ms / 1000

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


def main():
    port = int(sys.argv[1])
    delay_ms = float(sys.argv[2]) if len(sys.argv) > 2 else 0
    controller = Controller(DelayedSink(delay_ms), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        asyncio.run(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
