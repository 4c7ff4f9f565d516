"""``flask statements ...``: batch statement runs from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

group = AppGroup("statements", help="Statements: generate, export and send for a billing cycle.")
