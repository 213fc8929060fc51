"""FINDINGS D3 over HTTP: under a real `gunicorn --threads 4` (gthread: the preview renders in
a worker thread, where no signal can stop it), the accountant previews the review's templates;
each is refused within seconds with the limit it passed, in the accountant's French, while
the server keeps answering other requests."""
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from portal import settings
from tests.conftest import free_port
from tests.helpers import PASSWORD, csrf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOOPS = ("{% set a = 'x'*20000 %}{% for c in invoices|join(a) %}{% for d in invoices|join(a) %}"
         "{% endfor %}{% endfor %}done")
POWERS = "{% set n = 10**64 %}{% set n = n**64 %}{% set n = n**64 %}{{ n }}"
WIDTH = "{{ '{:>1000000000}'.format(1) }}"


@pytest.fixture
def served(app, accountant, sqlite_url, tmp_path):
    """The application on its SQLite file, served by gunicorn (one process, four threads)."""
    (tmp_path / "served.py").write_text(
        "from portal import create_app\nfrom portal.config import TestConfig\n"
        f"app = create_app(TestConfig, {{'SQLALCHEMY_DATABASE_URI': {sqlite_url!r}}})\n")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--threads", "4", "-w", "1", "-b",
         f"127.0.0.1:{port}", "--chdir", ROOT, "--pythonpath", str(tmp_path), "--timeout", "120",
         "--graceful-timeout", "2", "served:app"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _logged_in(base):
    session = requests.Session()
    page = session.get(base + "/admin/login", timeout=10).text
    answer = session.post(base + "/admin/login", timeout=10, allow_redirects=False, data={
        "csrf_token": csrf(page), "email": "compta@atelier.example", "password": PASSWORD})
    assert answer.status_code == 302
    return session


def test_the_review_templates_are_refused_in_seconds_under_gunicorn_threads(served):
    session = _logged_in(served)
    url = served + "/admin/settings/templates/cordial/fr"
    page = session.get(url, timeout=10).text
    fields = {p: settings.current().template("cordial", "fr")[p] for p in ("subject", "html")}
    for source, limit in ((LOOPS, "le modèle dépasse 100000 étapes"),
                          (POWERS, "les nombres sont limités à 10^18"),
                          (WIDTH, "une largeur ou une précision au-delà de 100")):
        answers, others = [], []  # the preview's answer; another request's, sent meanwhile

        def preview():
            started = time.monotonic()
            try:
                answer = session.post(url, timeout=30, data=dict(
                    fields, text=source, action="preview", csrf_token=csrf(page)))
            except requests.Timeout:
                answer = None  # the worker thread still renders (before the budget)
            answers.append((answer, time.monotonic() - started))

        previewing = threading.Thread(target=preview)
        previewing.start()
        others.append(requests.get(served + "/healthz", timeout=10).status_code)
        previewing.join(35)
        (answer, seconds), = answers
        assert answer is not None and answer.status_code == 200 and seconds < 5, seconds
        body = answer.text
        assert "Rien n'a été enregistré" in body.replace("&#39;", "'") and limit in body
        assert others == [200]
        assert session.get(url, timeout=5).status_code == 200  # and the server answers after
    assert not settings.revisions()
