"""Everything that talks to WeChat: the gateway (real SDKs) and the sandbox emulator."""

from backend.wechat.errors import InvalidSignature, WeChatError, WeChatUnavailable

__all__ = ["InvalidSignature", "WeChatError", "WeChatUnavailable"]
