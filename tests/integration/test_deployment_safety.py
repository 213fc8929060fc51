"""Safe by default in deployment: a forgotten RELANCE_ENV is production, weak keys and the demo
gateway are refused there, back-office sessions can be ended, login limits cannot lock the
office out, start-up errors are one clear line. Findings F4, F12, F13, F18."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from portal import create_app
from portal.config import (ConfigError, DevelopmentConfig, ProductionConfig, config_for)
from portal.extensions import db
from portal.models import User
from portal.payments.gateways import NoGateway, gateway_for
from portal.users import create_user
from tests.conftest import PG_URL, _make_app
from tests.helpers import csrf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "correct horse battery staple"
GOOD_KEY = "k3J9-pQ2_vX7wLm8nR4sT6yZ0aB1cD5eF"


def flask(*args, **env):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("RELANCE_ENV", "SECRET_KEY", "DATABASE_URL", "PAYMENTS_DEMO")}
    environ.update(FLASK_APP="wsgi", **env)
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)


# --- F4: a forgotten RELANCE_ENV is production -----------------------------------------------

def test_f4_without_relance_env_only_the_embedded_database_is_development(monkeypatch):
    monkeypatch.delenv("RELANCE_ENV", raising=False)
    for url, expected in (("postgresql://relance@db/relance", ProductionConfig),
                          ("sqlite:////srv/relance/relance.db", ProductionConfig),
                          ("sqlite:///relance.db", DevelopmentConfig),
                          (f"sqlite:///{ROOT}/instance/relance.db", DevelopmentConfig)):
        monkeypatch.setenv("DATABASE_URL", url)
        assert config_for() is expected, url
    monkeypatch.delenv("DATABASE_URL")
    assert config_for() is DevelopmentConfig


def test_f4_a_deployment_without_relance_env_or_key_refuses_to_start():
    result = flask("init-db", DATABASE_URL=PG_URL.replace("+psycopg", ""))
    assert result.returncode == 3 and "SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("key", [" " * 32, "a" * 32, "dev-secret-change-me" * 2,
                                 "test-secret" + "0" * 21, "short"])
def test_f4_weak_production_keys_are_refused(key):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(ProductionConfig, {"SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": PG_URL})


def test_f4_the_demo_gateway_exists_only_when_asked_for(sqlite_url):
    production = create_app(ProductionConfig, {"SECRET_KEY": GOOD_KEY,
                                               "SQLALCHEMY_DATABASE_URI": PG_URL,
                                               "PORTAL_BASE_URL": "https://relance.example.fr"})
    assert isinstance(gateway_for(production), NoGateway)
    with pytest.raises(ConfigError, match="PAYMENTS_DEMO"):
        create_app(ProductionConfig, {"SECRET_KEY": GOOD_KEY, "SQLALCHEMY_DATABASE_URI": PG_URL,
                                      "PAYMENTS_DEMO": True})
    laptop = create_app("development", {"SQLALCHEMY_DATABASE_URI": sqlite_url,
                                        "PAYMENTS_DEMO": False})
    assert isinstance(gateway_for(laptop), NoGateway)


# --- F18: start-up messages ------------------------------------------------------------------

def test_f18_a_bad_number_in_the_environment_is_one_clear_line(tmp_path):
    result = flask("init-db", RELANCE_ENV="development", LINK_MAX_AGE_DAYS="abc",
                   DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "LINK_MAX_AGE_DAYS='abc' is not a whole number" in result.stderr


def test_f18_commands_before_init_db_say_what_to_do(tmp_path):
    result = flask("users", "create", "a@b.fr", "--password", PASSWORD, RELANCE_ENV="development",
                   DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 1 and "flask init-db" in result.stderr
    assert "Traceback" not in result.stderr


# --- F12: sessions that can be ended ---------------------------------------------------------

def login(client, email="compta@atelier.example", password=PASSWORD, **kw):
    page = client.get("/admin/login", **kw).get_data(as_text=True)
    return client.post("/admin/login", data={"csrf_token": csrf(page), "email": email,
                                             "password": password}, **kw)


@pytest.fixture
def accountant(app):
    user = create_user("compta@atelier.example", PASSWORD)
    db.session.commit()
    return user


def copied_session(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/admin/").status_code == 200
    return thief


def test_f12_logout_ends_a_copied_session(app, client, accountant):
    assert login(client).status_code == 302
    thief = copied_session(app, client)
    page = client.get("/admin/").get_data(as_text=True)
    assert client.post("/admin/logout", data={"csrf_token": csrf(page)}).status_code == 302
    assert thief.get("/admin/").status_code == 302  # to the login page


@pytest.mark.parametrize("command", [["users", "deactivate", "compta@atelier.example"],
                                     ["users", "set-password", "compta@atelier.example",
                                      "--password", "another long password"]])
def test_f12_deactivation_and_a_new_password_end_every_session(app, client, runner, accountant,
                                                               command):
    assert login(client).status_code == 302
    result = runner.invoke(args=command)
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302


# --- F13: login limits -----------------------------------------------------------------------

def test_f13_failures_on_other_accounts_do_not_lock_this_one(app, client, accountant):
    for n in range(8):
        assert login(client, email=f"nobody{n}@example.org", password="wrong").status_code == 401
    assert login(client).status_code == 302


def test_f13_an_attacker_elsewhere_cannot_lock_the_accountant_out(app, client, accountant):
    attacker = app.test_client()
    for _ in range(10):
        login(attacker, password="wrong guess", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert login(attacker, environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    assert login(client).status_code == 302  # from the accountant's own address


def test_f13_one_address_is_limited_across_accounts(app, client, accountant):
    codes = [login(client, email=f"guess{n}@example.org", password="x").status_code
             for n in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429


def test_f13_behind_a_proxy_each_client_address_counts(sqlite_url, smtp):
    app = _make_app(sqlite_url, smtp.port, PROXY_HOPS=1)
    with app.app_context():
        create_user("compta@atelier.example", PASSWORD)
        db.session.commit()
        client = app.test_client()
        for _ in range(6):
            login(client, password="wrong", headers={"X-Forwarded-For": "198.51.100.7"})
        assert login(client, headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 429
        assert login(client, headers={"X-Forwarded-For": "198.51.100.8"}).status_code == 302
        db.session.remove()
        db.engine.dispose()


def test_f13_an_unknown_address_costs_a_password_check_too(app, client, monkeypatch):
    import portal.users as users
    checked = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash",
                        lambda h, p: checked.append(h) or real(h, p))
    assert login(client, email="nobody@example.org", password="whatever").status_code == 401
    assert len(checked) == 1
    assert db.session.scalar(select(User)) is None
