"""The Portuguese catalog is complete and in step with the sources, and the compiled .mo that
ships is the .po that was reviewed."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "socialsell" / "locale"
PO = LOCALE / "pt_BR" / "LC_MESSAGES" / "messages.po"
MO = LOCALE / "pt_BR" / "LC_MESSAGES" / "messages.mo"


def _msgid(value: str | tuple[str, ...] | list[str]) -> str:
    return value if isinstance(value, str) else value[0]


def _text(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _source_messages() -> set[str]:
    method_map, options_map = parse_mapping_cfg(io.StringIO((ROOT / "babel.cfg").read_text()))
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        found.add(_msgid(message))
    return found


def test_every_ui_string_in_the_sources_is_translated_to_portuguese() -> None:
    with PO.open("rb") as fh:
        catalog = read_po(fh, locale="pt_BR")
    translated = {
        _msgid(m.id)
        for m in catalog
        if m.id
        and (m.string if isinstance(m.string, str) else all(m.string))
        and "fuzzy" not in m.flags
    }

    missing = sorted(_source_messages() - translated)

    assert not missing, "run the steps in src/socialsell/locale/README.md for: " + repr(missing)


def test_the_compiled_catalog_matches_the_po_file() -> None:
    with PO.open("rb") as fh:
        po = {_msgid(m.id): _text(m.string) for m in read_po(fh, locale="pt_BR") if m.id}
    with MO.open("rb") as fh:
        mo = {_msgid(m.id): _text(m.string) for m in read_mo(fh) if m.id}

    assert mo == po, "recompile: pybabel compile -d src/socialsell/locale"
