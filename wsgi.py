"""gunicorn entry: ``gunicorn wsgi:app``."""

import gunicorn.http.wsgi

from backend import create_app

# gunicorn writes "Server: gunicorn" into every response itself, after the app: it reads
# this module-level name for each response, so blanking it here (loaded in each worker)
# keeps the server's name and version out of the answers.
gunicorn.http.wsgi.SERVER = ""

app = create_app()
