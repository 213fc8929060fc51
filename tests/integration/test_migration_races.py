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


def test_upgrade_to_creditors_as_tenants_keeps_every_row(any_db_url):
    """A one-creditor database of the previous schema (b4c19e5a7d62): its customers, invoices
    and payments become its creditor's, each user is granted it with the role they had, the
    "review before sending" switch moves onto it; refs and numbers become unique per creditor."""
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": any_db_url})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="b4c19e5a7d62")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO customer (id, ref, name, email, language, tier, link_version, "
                "debtor_type, created_at) VALUES (1, 'C1', 'Dupont', 'c@dupont.fr', 'fr', "
                "'standard', 3, 'business', CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO invoice (id, number, customer_id, issue_date, due_date, currency, "
                "total_cents, status, created_at, updated_at) VALUES (1, 'F-1', 1, '2026-10-01', "
                "'2026-10-31', 'EUR', 10000, 'open', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO payment (id, customer_id, source, external_id, amount_cents, "
                "currency, state, received_on, created_at, refunded_cents) VALUES (1, 1, 'csv', "
                "'VIR-1', 4000, 'EUR', 'succeeded', '2026-11-02', CURRENT_TIMESTAMP, 0)"))
            conn.execute(text("INSERT INTO allocation (id, payment_id, invoice_id, amount_cents)"
                              " VALUES (1, 1, 1, 4000)"))
            for user_id, email, role in ((1, "boss@atelier.example", "admin"),
                                         (2, "compta@atelier.example", "accountant")):
                conn.execute(text(
                    "INSERT INTO user_account (id, email, password_hash, role, active, "
                    "session_version, created_at) VALUES (:id, :email, 'x', :role, :active, 1, "
                    "CURRENT_TIMESTAMP)"), {"id": user_id, "email": email, "role": role,
                                            "active": True})
            conn.execute(text("INSERT INTO setting (key, value) VALUES "
                              "('review_before_sending', 'on')"))
        upgrade()
        with db.engine.connect() as conn:
            creditor_id = conn.execute(text("SELECT id FROM creditor")).scalar_one()
            for table in ("customer", "invoice", "payment"):
                assert conn.execute(text(f"SELECT creditor_id FROM {table}")).all() == [
                    (creditor_id,)], table
            assert conn.execute(text("SELECT ref, link_version FROM customer")).one() == ("C1", 3)
            assert conn.execute(text(
                "SELECT u.email, g.role FROM creditor_grant g JOIN user_account u "
                "ON u.id = g.user_id ORDER BY u.email")).all() == [
                ("boss@atelier.example", "admin"), ("compta@atelier.example", "accountant")]
            assert conn.execute(text("SELECT review_before_sending FROM creditor")).scalar() \
                in (True, 1)
            assert conn.execute(text("SELECT count(*) FROM allocation")).scalar() == 1
        from portal.models import Invoice
        assert db.session.get(Invoice, 1).balance_cents == 6000
        # A second creditor may now reuse the number F-1 and the ref C1.
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO creditor (id, slug, name, address, siren, vat_number, iban, bic, "
                "email, phone, sender, reply_to, timezone, holiday_country, language, colour, "
                "signature, review_before_sending, created_at) VALUES (2, 'b', 'B', '', '', '', "
                "'', '', '', '', '', '', 'Europe/Paris', 'FR', 'fr', '', '', :no, "
                "CURRENT_TIMESTAMP)"), {"no": False})
            conn.execute(text(
                "INSERT INTO customer (id, creditor_id, ref, name, email, language, tier, "
                "link_version, debtor_type, created_at) VALUES (2, 2, 'C1', 'Autre', "
                "'x@autre.fr', 'fr', 'standard', 1, 'business', CURRENT_TIMESTAMP)"))
            conn.execute(text(
                "INSERT INTO invoice (id, creditor_id, number, customer_id, issue_date, due_date,"
                " currency, total_cents, status, created_at, updated_at) VALUES (2, 2, 'F-1', 2,"
                " '2026-10-01', '2026-10-31', 'EUR', 500, 'open', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"))
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()
