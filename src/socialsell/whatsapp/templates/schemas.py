"""What the template API and forms take and give, and the parameters of a template send."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TemplateParameters(BaseModel):
    """The values that fill a template's variables for one send.

    ``header_text`` and ``body`` are a list for a positional template ({{1}}, {{2}}, ...) or a
    mapping of names for a named one ({{first_name}}). ``buttons`` are by button index: a URL
    button's dynamic suffix, a quick reply's payload, a copy-code button's code ("" = none).
    """

    model_config = ConfigDict(extra="forbid")

    header_text: list[str] | dict[str, str] = Field(default_factory=list)
    header_media_id: uuid.UUID | None = None
    body: list[str] | dict[str, str] = Field(default_factory=list)
    buttons: list[str] = Field(default_factory=list)


class TemplateSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: uuid.UUID
    parameters: TemplateParameters = Field(default_factory=TemplateParameters)


Category = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
HeaderFormat = Literal["NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT"]
ButtonType = Literal["QUICK_REPLY", "URL", "PHONE_NUMBER"]


class ButtonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: ButtonType
    text: str = ""
    url: str | None = None
    url_example: str | None = None
    phone_number: str | None = None


class TemplateCreate(BaseModel):
    """A new template in our words; :mod:`.rules` checks it and turns it into Meta's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = ""
    category: str = ""
    language: str = ""
    header_format: HeaderFormat = "NONE"
    header_text: str = ""
    # Sample values for the header's variable (one) and the body's, in order for {{1}}..{{n}}
    # or by name for named variables.
    header_example: list[str] | dict[str, str] = Field(default_factory=list)
    # A media sample for IMAGE/VIDEO/DOCUMENT headers: a media asset (POST /api/v1/media).
    header_media_id: uuid.UUID | None = None
    body: str = ""
    body_examples: list[str] | dict[str, str] = Field(default_factory=list)
    footer: str = ""
    buttons: list[ButtonIn] = Field(default_factory=list)


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel_id: uuid.UUID
    external_id: str
    name: str
    language: str
    category: str
    previous_category: str | None
    status: str
    rejected_reason: str | None
    status_detail: str | None
    quality_score: str | None
    parameter_format: str
    components: list[dict[str, Any]]
    status_updated_at: datetime | None
    synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TemplateList(BaseModel):
    data: list[TemplateRead]
    counts: dict[str, int]
    synced_at: datetime | None
    sync_error: str | None


class SyncResult(BaseModel):
    created: int
    updated: int
    removed: int
    total: int
