"""gunicorn entry: ``gunicorn wsgi:app``."""

from backend import create_app, gunicorn_errors

# Loaded in each gunicorn worker before it serves: gunicorn's own error pages (431 for a
# header too large, 400 …) become the API's JSON error shape, and gunicorn's name and
# version ("Server: gunicorn", which it writes after the app) leave every answer.
gunicorn_errors.install()

app = create_app()
