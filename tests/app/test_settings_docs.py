"""`.env.example` is the settings reference operators read: every setting is in it."""

from __future__ import annotations

from pathlib import Path

from socialsell.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_env_example() -> None:
    documented = (ROOT / ".env.example").read_text()
    missing = [
        f"SOCIALSELL_{name.upper()}"
        for name in Settings.model_fields
        if f"SOCIALSELL_{name.upper()}=" not in documented
    ]
    assert missing == [], f"add these to .env.example with a comment: {missing}"
