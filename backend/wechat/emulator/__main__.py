"""python -m backend.wechat.emulator [--host 127.0.0.1] [--port 5055]"""

from __future__ import annotations

import argparse
import logging
import os

from werkzeug.serving import make_server

from backend.config import load_wechat_config
from backend.wechat.emulator.app import KeepAliveHandler, create_emulator_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.wechat.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_wechat_config()
    app = create_emulator_app(cfg)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=KeepAliveHandler)
    print(f"WeChat emulator listening on http://{args.host}:{server.server_port} "
          f"(appid {cfg.appid}, mch_id {cfg.mch_id}, keys in {cfg.key_dir})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
