"""The three ways a WeChat call can go wrong, as the rest of the app sees them."""

from __future__ import annotations


class WeChatError(Exception):
    """WeChat gave a definitive business answer: the operation did not (and will not) happen as asked."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class WeChatUnavailable(Exception):
    """The outcome is unknown (timeout, connection error, 5xx, SYSTEMERROR, unreadable answer).

    The operation may or may not have happened: retry with the same idempotency key or query.
    """


class InvalidSignature(Exception):
    """A notify failed signature verification or decryption: do not trust its content."""
