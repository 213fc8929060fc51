"""The sender pool's bookkeeping, with a transport that records in memory (the real SMTP path,
the crash and the outage are tested in tests/integration/test_run*.py): connections refused by
a relay that caps them, an error nobody expected, refusals for good."""
import threading
from contextlib import contextmanager

import pytest

from portal import create_app
from reminders.senders import SenderPool
from reminders.transport import DeliveryError, MessageRejected


class Relay:
    """Accepts at most `cap` connections; `fail_on` messages raise what they name."""

    def __init__(self, cap=100, fail_on=None):
        self.cap, self.fail_on = cap, fail_on or {}
        self.open, self.sent, self.lock = 0, [], threading.Lock()

    @contextmanager
    def connect(self):
        with self.lock:
            if self.open >= self.cap:
                raise DeliveryError("421 too many connections")
            self.open += 1
        yield self

    def send(self, message):
        if message in self.fail_on:
            raise self.fail_on[message]
        with self.lock:
            self.sent.append(message)
        return {}


@pytest.fixture
def app():
    app = create_app("test")
    with app.app_context():
        yield app


def send_all(relay, messages, connections=8):
    answers = []
    with SenderPool(relay, connections) as pool:
        for message in messages:
            pool.submit(message, lambda refused, error, m=message: answers.append((m, error)))
        pool.drain()
    return answers


def test_a_relay_that_caps_connections_gets_everything_over_the_ones_it_accepts(app):
    relay = Relay(cap=3)
    answers = send_all(relay, list(range(40)))
    assert sorted(relay.sent) == list(range(40)) and len(answers) == 40


def test_no_connection_at_all_is_an_outage(app):
    with pytest.raises(DeliveryError):
        send_all(Relay(cap=0), list(range(5)))


def test_a_refusal_for_good_is_that_message_only(app):
    relay = Relay(fail_on={3: MessageRejected("550 no such mailbox")})
    answers = dict(send_all(relay, list(range(10))))
    assert isinstance(answers[3], MessageRejected) and len(relay.sent) == 9


def test_an_error_nobody_expected_stops_the_run_instead_of_hanging_it(app):
    relay = Relay(fail_on={2: UnicodeEncodeError("ascii", "é", 0, 1, "bad")})
    finished = []

    def run():
        with app.app_context():
            try:
                send_all(relay, list(range(20)), connections=1)
            except UnicodeEncodeError:
                finished.append("raised")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert finished == ["raised"]
