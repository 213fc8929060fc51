"""The migration of the race and bad-input fixes upgrades a database built by the previous
schema without losing a row, and settles the duplicates double clicks left behind."""
from flask_migrate import upgrade
from sqlalchemy import text

from portal import create_app
from portal.extensions import db


def test_upgrade_keeps_every_row_and_releases_duplicate_promises(any_db_url):
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": any_db_url})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="c902ea1f333f")  # the schema of 6326fef
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO customer (id, ref, name, email, language, tier, link_version, "
                "created_at) VALUES (1, 'C1', 'Dupont', 'c@dupont.fr', 'fr', 'standard', 1, "
                "CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO invoice (id, number, customer_id, issue_date, due_date, currency, "
                "total_cents, status, created_at, updated_at) VALUES (1, 'F-1', 1, '2026-10-01', "
                "'2026-10-31', 'EUR', 10000, 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            for hold_id in (1, 2):  # a double click before the fix: two promises in force
                conn.execute(text(
                    "INSERT INTO hold (id, customer_id, invoice_id, kind, starts_on, until, "
                    "created_at, details) VALUES (:id, 1, 1, 'promise', '2026-11-20', "
                    "'2026-12-01', CURRENT_TIMESTAMP, '{}')"), {"id": hold_id})
            conn.execute(text(
                "INSERT INTO payment (id, customer_id, source, external_id, amount_cents, "
                "currency, state, received_on, created_at, refunded_cents) VALUES (1, 1, 'csv', "
                "'VIR-1', 2500, 'EUR', 'succeeded', '2026-11-20', CURRENT_TIMESTAMP, 0)"))
            conn.execute(text(
                "INSERT INTO user_account (id, email, password_hash, role, active, created_at) "
                "VALUES (1, 'a@b.fr', 'x', 'admin', true, CURRENT_TIMESTAMP)"))
        upgrade()
        with db.engine.connect() as conn:
            holds = conn.execute(text("SELECT id, released_at IS NULL FROM hold ORDER BY id")).all()
            assert [(h[0], bool(h[1])) for h in holds] == [(1, False), (2, True)]
            assert conn.execute(text("SELECT source, external_id, amount_cents FROM payment")
                                ).one() == ("csv", "VIR-1", 2500)
            assert conn.execute(text("SELECT session_version FROM user_account")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM invoice")).scalar() == 1
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()


def test_upgrade_to_settings_as_data_makes_the_creditor_and_keeps_every_row(any_db_url):
    """A database of the previous schema (5d1e0c7a9b21) gets its creditor from the CREDITOR_*
    variables and the shipped settings as revision 1; its customers become businesses."""
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": any_db_url,
                              "CREDITOR_NAME": "Menuiserie Favre SAS"})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="5d1e0c7a9b21")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO customer (id, ref, name, email, language, tier, policy, "
                "link_version, created_at) VALUES (1, 'C1', 'Dupont', 'c@dupont.fr', 'fr', "
                "'risky', 'gentle', 1, CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO invoice (id, number, customer_id, issue_date, due_date, currency, "
                "total_cents, status, created_at, updated_at) VALUES (1, 'F-1', 1, '2026-10-01', "
                "'2026-10-31', 'EUR', 10000, 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        upgrade()
        from portal import settings
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT ref, tier, policy, debtor_type FROM customer")
                                ).one() == ("C1", "risky", "gentle", "business")
            assert conn.execute(text("SELECT count(*) FROM invoice")).scalar() == 1
            assert conn.execute(text("SELECT slug, name, holiday_country FROM creditor")
                                ).one() == ("default", "Menuiserie Favre SAS", "FR")
            assert conn.execute(text("SELECT number, author FROM settings_revision")).one() == (
                1, "migration")
        assert settings.creditor().name == "Menuiserie Favre SAS"
        current = settings.current()
        assert current.revision == 1
        assert [lv.offset_days for lv in current.policy_for("risky", "gentle").levels] == \
            [-3, 3, 14, 30, 40]
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()
