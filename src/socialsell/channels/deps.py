"""Dependencies of the channels routes: the process's Meta client and secret box."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from socialsell.core.crypto import SecretBox
from socialsell.integrations import secret_box
from socialsell.meta import MetaClient


def get_meta(request: Request) -> MetaClient:
    meta: MetaClient = request.app.state.meta
    return meta


def get_secret_box(request: Request) -> SecretBox:
    return secret_box(request.app.state.settings)


MetaDep = Annotated[MetaClient, Depends(get_meta)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
