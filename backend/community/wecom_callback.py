"""企业微信 callbacks (URL verification and encrypted events). WeChat's format, not ours."""

from __future__ import annotations

from flask import Blueprint

blp = Blueprint("wecom_callback", __name__, url_prefix="/api/v1/wecom")
