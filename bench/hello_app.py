"""The ceiling: a Flask hello-world served by the same gunicorn settings as Fission.

``gunicorn --chdir bench hello_app:app``
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
