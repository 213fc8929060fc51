"""Several SMTP connections kept busy by one run process (MAIL_CONNECTIONS, default 8).

Threads, not asyncio: the SMTP client (smtplib) blocks, and what a run waits
for is the relay's answer to each message, during which a thread holds no lock (the GIL is
released on the socket). The database stays on the main thread: it composes each message and
hands it over with a callback; a worker, each with its own connection, sends it and reports how
it went; the main thread runs the callbacks of the answers that have arrived, which record the
messages, then commits them together. So:

- each accepted message is recorded (and committed) before it is forgotten;
- at most `connections` messages are between "handed over" and "recorded": a crash re-sends at
  most those, one per connection, each with its stable Message-ID;
- a refusal for good (5xx) is reported for that message only; the others go on;
- an outage (DeliveryError) stops new submissions, records what the other connections had
  accepted meanwhile, and is raised: whatever was not sent stays due.

A transport without connections (the demo's outbox folder) is wrapped in `Serial`, which sends
and calls back at once: the run's code is the same for both.
"""
import queue
import threading

from flask import current_app

from .transport import MessageRejected

_STOP = object()


class SenderPool:
    def __init__(self, transport, connections, after_records=None):
        self.app = current_app._get_current_object()  # the workers' SMTP settings
        self.transport, self.size = transport, max(1, connections)
        self.after_records = after_records or (lambda: None)  # the run commits here
        # SimpleQueue: written in C; a put and a get cost 0.2 µs instead of 2.2 µs (no Condition)
        self.jobs, self.results = queue.SimpleQueue(), queue.SimpleQueue()
        self.in_flight, self.failure, self.threads = 0, None, []

    def __enter__(self):
        for _ in range(self.size):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc):
        for _ in self.threads:
            self.jobs.put(_STOP)
        for thread in self.threads:
            thread.join(timeout=60)
        return False

    def _work(self):
        """One connection: send what comes, report each outcome; stop at an outage or at an
        error nobody expected (reported too: the main thread never waits for a dead worker)."""
        try:
            with self.app.app_context(), self.transport.connect() as connection:
                while (job := self.jobs.get()) is not _STOP:
                    message, done = job
                    try:
                        self.results.put((done, connection.send(message), None))
                    except MessageRejected as exc:
                        self.results.put((done, None, exc))
                    except Exception as exc:  # noqa: BLE001 - an outage, or a bug: reported
                        self.results.put((done, None, exc))
                        return
        except Exception as exc:  # noqa: BLE001 - could not connect
            self.results.put((None, None, exc))

    def submit(self, message, done):
        """Hand `message` to a free connection; `done(refused, error)` runs on this thread once
        the server answered. Waits (recording answers) while every connection is busy."""
        while self.in_flight >= max(self.size, 1) and not self.failure:
            self._record_answers()
        if self.failure:
            self.drain()  # raises
        self.in_flight += 1
        self.jobs.put((message, done))

    def _record_answers(self):
        """Wait for one answer, take every other one already there, record them all, then
        `after_records` once (one commit for all the answers that arrived together)."""
        answers = [self.results.get()]
        while True:
            try:
                answers.append(self.results.get_nowait())
            except queue.Empty:
                break
        for done, refused, error in answers:
            if done is None:  # a connection could not be opened (a relay may cap them)
                self.size -= 1  # the others go on; an outage only when none is left
                if self.size <= 0:
                    self._fail(error)
                continue
            self.in_flight -= 1
            if error is None or isinstance(error, MessageRejected):
                done(refused, error)
            else:  # an outage (DeliveryError), or an error nobody expected: stop, raise it
                self._fail(error)
        self.after_records()

    def _fail(self, error):
        self.failure = self.failure or error
        while True:  # messages no connection took will not be: they stay due
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                self.in_flight -= 1

    def drain(self):
        """Record every answer still due; raise the outage if there was one."""
        while self.in_flight > 0 and (self.failure is None or self._alive()):
            self._record_answers()
        if self.failure:
            raise self.failure

    def _alive(self):
        return any(t.is_alive() for t in self.threads) or not self.results.empty()


class Serial:
    """The same interface over one connection used in turn (the outbox folder, tests)."""

    def __init__(self, connection, after_records=None):
        self.connection = connection
        self.after_records = after_records or (lambda: None)

    def submit(self, message, done):
        try:
            refused = self.connection.send(message)
        except MessageRejected as exc:
            done(None, exc)
        else:
            done(refused, None)
        self.after_records()

    def drain(self):
        pass
