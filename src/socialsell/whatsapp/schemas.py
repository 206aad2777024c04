"""What the WhatsApp numbers API reads and writes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# Meta's ids are digits; a pasted value keeps no spaces.
GraphId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{5,32}$", max_length=32)
]
Token = Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=2048)]


class WhatsAppConnect(BaseModel):
    """The three values a self-hoster copies from Meta's Business Manager (docs/whatsapp.md)."""

    model_config = ConfigDict(extra="forbid")

    waba_id: GraphId = Field(description="The WhatsApp Business Account id.")
    phone_number_id: GraphId = Field(description="The phone number id (not the number itself).")
    access_token: Token = Field(description="A system-user access token of the business.")


class ReactionCreate(BaseModel):
    """A reaction of the business to a message; an empty ``emoji`` removes it."""

    model_config = ConfigDict(extra="forbid")

    emoji: str = Field(default="", max_length=16)
