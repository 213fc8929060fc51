"""Production refuses unsafe settings; the Alembic migrations build exactly the models' schema."""
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from portal import create_app
from portal.config import ConfigError, ProductionConfig
from portal.extensions import db


def test_production_refuses_the_default_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(ProductionConfig, {"SECRET_KEY": "dev-secret-change-me"})


def test_production_refuses_sqlite():
    with pytest.raises(ConfigError, match="PostgreSQL"):
        create_app(ProductionConfig, {"SECRET_KEY": "k3J9-pQ2_vX7wLm8nR4sT6yZ0aB1cD5eF",
                                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_an_unknown_time_zone_stops_the_start_with_the_fix():
    with pytest.raises(ValueError, match="CREDITOR_TIMEZONE='Mars/Olympus'.*Europe/Paris"):
        create_app("test", {"CREDITOR_TIMEZONE": "Mars/Olympus"})


def test_migrations_match_the_models(any_db_url):
    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": any_db_url})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.engine.dispose()
