"""A local emulator of the Meta APIs socialsell uses (Instagram API with Instagram Login and the
WhatsApp Cloud API), with a control API under ``/_sandbox/`` and a simulated phone at ``/``.

The product never imports this package: they meet over HTTP only. Entry points are
:func:`meta_sandbox.app.create_app` and :func:`meta_sandbox.server.run`.
"""

__all__: list[str] = []
