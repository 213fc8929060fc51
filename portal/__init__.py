"""Relance: the Flask application factory."""
import os

from flask import Flask

from . import clock
from .config import check_production, config_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config=None, overrides=None):
    """Build the application: load config, bind extensions, register blueprints and commands.

    `config` is a config class or the name of an environment; `overrides` a dict applied last.
    """
    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
        instance_path=os.path.join(ROOT, "instance"),
    )
    if config is None or isinstance(config, str):
        config = config_for(config)
    app.config.from_object(config)
    if overrides:
        app.config.update(overrides)
    check_production(app.config)
    clock.zone(app.config["CREDITOR_TIMEZONE"])  # an unknown zone stops here, with the fix

    from . import changes, cli, errors, i18n, web  # noqa: F401 (changes: its engine events)
    from .extensions import csrf, db, login_manager, mail, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    mail.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    web.init_app(app)  # before the blueprints: their routes use its <id:...> converter
    _init_login(app, login_manager)

    from .api import bp as api_bp
    from .debtor import bp as debtor_bp
    from .backoffice import bp as backoffice_bp
    from .webhooks.payments import bp as payments_bp
    from .webhooks.sms import bp as sms_bp
    from .webhooks.post import bp as post_bp
    from .health import bp as health_bp

    app.register_blueprint(debtor_bp)
    app.register_blueprint(backoffice_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(post_bp)
    app.register_blueprint(health_bp)  # /healthz/run
    csrf.exempt(api_bp)
    csrf.exempt(payments_bp)  # Stripe signs its webhooks instead

    @app.get("/healthz")
    def healthz():
        db.session.execute(db.text("SELECT 1"))
        return {"status": "ok"}

    cli.init_app(app)
    from reminders.cli import init_app as init_reminders_cli

    init_reminders_cli(app)
    return app


def _init_login(app, login_manager):
    login_manager.init_app(app)
    login_manager.login_view = "backoffice.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id):
        """The session names a user and the version of their sessions: logging out, a new
        password or deactivation bumps the version and ends every older session."""
        from .users import user_for_session
        return user_for_session(session_id)
