"""The WhatsApp Cloud API part of the Meta sandbox.

`router` holds the Graph routes (the core mounts it; paths work with and without `/vNN.N`),
`control_router` the control API (mounted at `/_sandbox/whatsapp`), and `install(state)` gives
the core state its `whatsapp` part now and after every reset, and `on_tick(app)` is the
dispatcher tick hook that emits what fell due on the sandbox clock.
"""

from meta_sandbox.whatsapp.context import install
from meta_sandbox.whatsapp.control import control_router
from meta_sandbox.whatsapp.router import router
from meta_sandbox.whatsapp.schedule import on_tick

__all__ = ["control_router", "install", "on_tick", "router"]
