"""Kazakh, Russian and English catalogs are complete and match the sources."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from server.config import ROOT
from server.i18n import LANGUAGES

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalog(language: str):
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_its_placeholders(language):
    problems = []
    for message in catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            if not text or set(PLACEHOLDER.findall(text)) != wanted or "fuzzy" in message.flags:
                problems.append((ids[0], text))
    assert not problems, problems[:5]


def test_catalogs_hold_every_string_of_the_sources(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "N_plural:1,2",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as fh:
        sources = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    for language in LANGUAGES:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
        assert sources - known == set(), f"{language}: run `make locales` and translate"
