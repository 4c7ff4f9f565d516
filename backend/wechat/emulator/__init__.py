"""A local stand-in for the WeChat and WeChat Pay servers (sandbox mode).

It speaks the real wire formats, signatures included, so the app's SDK calls are
checked end to end against an implementation that shares no code with the SDKs.
"""

from backend.wechat.emulator.app import (
    EmulatorHandle,
    create_emulator_app,
    run_in_thread,
)

__all__ = ["EmulatorHandle", "create_emulator_app", "run_in_thread"]
