"""The only place the app talks to 企业微信 (WeCom): customer groups, join ways, contact
ways, and the callback's crypto.

wechatpy's 企业微信 client (``wechatpy.enterprise``) pointed at the configured base URL:
qyapi.weixin.qq.com in production, the emulator in sandbox. Failures are translated as
in gateway.py: WeChatUnavailable when the outcome is unknown, WeChatError otherwise.
"""

from __future__ import annotations

import threading
from xml.parsers.expat import ExpatError

from flask import current_app
from wechatpy.enterprise import WeChatClient as WeComClient
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from backend.config import WeChatConfig
from backend.wechat import xml_safety
from backend.wechat.errors import InvalidSignature, WeChatError, WeChatUnavailable
from backend.wechat.gateway import WeChatGateway, _TimeoutSession

STATE_MAX = 30  # 企业微信 refuses a longer state on join ways and contact ways
JOIN_WAY_MAX_CHATS = 5


class _WeComClient(WeComClient):
    def __init__(self, cfg: WeChatConfig, session=None) -> None:
        super().__init__(cfg.wecom_corp_id, cfg.wecom_secret, session=session, timeout=cfg.http_timeout)
        self._http = _TimeoutSession(cfg.http_timeout)
        self._token_url = cfg.wecom_api_base + "/cgi-bin/gettoken"
        self.API_BASE_URL = cfg.wecom_api_base + "/cgi-bin/"

    def fetch_access_token(self):
        return self._fetch_access_token(url=self._token_url,
                                        params={"corpid": self.corp_id, "corpsecret": self.secret})


class WeComGateway:
    def __init__(self, cfg: WeChatConfig, token_storage=None) -> None:
        self.cfg = cfg
        self._token_storage = token_storage
        self._lock = threading.Lock()
        self._client: _WeComClient | None = None

    def _api(self) -> _WeComClient:
        if not (self.cfg.wecom_corp_id and self.cfg.wecom_secret):
            raise WeChatError("NOT_CONFIGURED", "WECOM_CORP_ID / WECOM_SECRET are not configured")
        with self._lock:
            if self._client is None:
                self._client = _WeComClient(self.cfg, session=self._token_storage)
            return self._client

    def _post(self, endpoint: str, data: dict) -> dict:
        result = WeChatGateway._call_mp(self._api().post, endpoint, data=data)
        if not isinstance(result, dict):
            raise WeChatUnavailable(f"unreadable 企业微信 answer to {endpoint}")
        return result

    # ---- customer groups and 加入群聊 join ways -----------------------------------
    def add_join_way(self, chat_ids: list[str], state: str, remark: str = "") -> str:
        """A QR (scene 2) that lets a customer join one of up to 5 groups; 企业微信 moves to
        the next group when one is full. Returns the config_id."""
        if not chat_ids or len(chat_ids) > JOIN_WAY_MAX_CHATS or len(state) > STATE_MAX:
            raise WeChatError("PARAM_ERROR", "1-5 chat ids and a state of at most 30 characters")
        data = self._post("externalcontact/groupchat/add_join_way", {
            "scene": 2, "remark": remark[:30], "auto_create_room": 0, "chat_id_list": chat_ids, "state": state})
        if not data.get("config_id"):
            raise WeChatUnavailable("add_join_way answered without a config_id")
        return data["config_id"]

    def get_join_way(self, config_id: str) -> dict:
        return self._post("externalcontact/groupchat/get_join_way", {"config_id": config_id}).get("join_way") or {}

    def group_chat(self, chat_id: str) -> dict:
        """The group with its members: each one's userid, type (2 = external), join_time,
        join_scene, state (when joined through a join way) and unionid (external)."""
        data = self._post("externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1})
        if not isinstance(data.get("group_chat"), dict):
            raise WeChatUnavailable("groupchat/get answered without group_chat")
        return data["group_chat"]

    # ---- 联系我 contact ways ---------------------------------------------------------
    def add_contact_way(self, userid: str, state: str) -> tuple[str, str]:
        """A single-person 联系我 QR for staff ``userid``; returns (config_id, qr_code)."""
        if len(state) > STATE_MAX:
            raise WeChatError("PARAM_ERROR", "state longer than 30 characters")
        data = self._post("externalcontact/add_contact_way",
                          {"type": 1, "scene": 2, "user": [userid], "state": state, "skip_verify": True})
        if not data.get("config_id"):
            raise WeChatUnavailable("add_contact_way answered without a config_id")
        return data["config_id"], data.get("qr_code") or ""

    def external_contact(self, external_userid: str) -> dict:
        data = WeChatGateway._call_mp(self._api().get, "externalcontact/get",
                                      params={"external_userid": external_userid})
        return (data or {}).get("external_contact") or {}

    # ---- the callback ----------------------------------------------------------------
    def _crypto(self) -> WeChatCrypto:
        cfg = self.cfg
        if not (cfg.wecom_token and cfg.wecom_aes_key and cfg.wecom_corp_id):
            raise InvalidSignature("企业微信 callback is not configured")
        return WeChatCrypto(cfg.wecom_token, cfg.wecom_aes_key, cfg.wecom_corp_id)

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification: check the signature, answer the decrypted echostr."""
        try:
            return self._crypto().check_signature(signature, timestamp, nonce, echostr)
        except (InvalidSignatureException, InvalidCorpIdException, ValueError, TypeError) as exc:
            raise InvalidSignature("企业微信 URL verification failed") from exc

    def parse_callback(self, body: bytes, signature: str, timestamp: str, nonce: str) -> dict:
        """Verify and decrypt an event; returns its fields (Event, ChangeType, ChatId, …)."""
        try:
            # Both the body and the event decrypted from it pass xml_safety before a parser
            # (wechatpy's decrypt_message parses the body with xmltodict).
            xml_safety.check(body)
            plain = self._crypto().decrypt_message(body, signature, timestamp, nonce)
            data = xml_safety.parse(plain)["xml"]
        except (InvalidSignatureException, InvalidCorpIdException, ExpatError, KeyError, TypeError,
                ValueError, UnicodeError) as exc:
            raise InvalidSignature("企业微信 callback signature or decryption failed") from exc
        if not isinstance(data, dict):
            raise InvalidSignature("企业微信 callback without fields")
        return dict(data)


def wecom() -> WeComGateway:
    """The app's WeComGateway, built on first use; it shares the WeChat token storage."""
    gateway = current_app.extensions.get("wecom_gateway")
    if gateway is None:
        mp = current_app.extensions["wechat_gateway"]
        gateway = current_app.extensions.setdefault("wecom_gateway",
                                                    WeComGateway(mp.cfg, token_storage=mp._token_storage))
    return gateway
