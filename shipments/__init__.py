"""Yuexiang Track (越乡寄递): the Flask application factory."""
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask

from shipments import config as config_module
from shipments import extensions

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config_overrides: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, errors, CLI."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.update(config_module.load_config(app.instance_path))
    app.config.update(config_overrides or {})
    config_module.finalise(app.config)
    config_module.validate(app.config)

    from shipments import models  # noqa: F401  (register the tables on the metadata)

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(PROJECT_ROOT / "migrations"))
    extensions.login_manager.init_app(app)
    extensions.csrf.init_app(app)

    from shipments.web import i18n

    extensions.babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)

    from shipments import api, cli, errors, input_guard, jobs
    from shipments.web import blueprints as web_blueprints

    input_guard.register(app)
    api.init_app(app)

    for blueprint in web_blueprints():
        app.register_blueprint(blueprint)
    errors.register(app)
    cli.register(app)
    jobs.init_app(app)  # the dev server's in-process scheduler, when this process should run it
    return app


def freeze_start_up_objects() -> None:
    """Take the objects made while starting (the app, SQLAlchemy's mappers and compiled statements, Babel's
    locale data …) out of the garbage collector's generations, for a serving process.

    They live as long as the process, yet every full collection walked them all:
    on the dashboard a full collection ran every second request and took about a
    third of its CPU (measured in process, bench figures in BENCHMARKS.md).
    Cycles made later are collected as before.
    """
    import gc

    gc.collect()
    gc.freeze()
