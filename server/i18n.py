"""Translations: gettext catalogs in locales/<lang>/LC_MESSAGES/messages.po, compiled in
memory at start-up (no build step), and the current language of a request."""

from __future__ import annotations

import contextvars
import io
from functools import cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from server.config import ROOT
from server.domain.languages import Language

LANGUAGES = tuple(language.value for language in Language)
LANGUAGE_NAMES = {Language.KK.value: "Қазақша", Language.RU.value: "Русский", Language.EN.value: "English"}
DEFAULT_LANGUAGE = Language.KK.value
LOCALES_DIR = ROOT / "locales"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> NullTranslations:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def set_language(language: str) -> contextvars.Token:
    return _current.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def reset_language(token: contextvars.Token) -> None:
    _current.reset(token)


def get_language() -> str:
    return _current.get()


def gettext(message: str, language: str | None = None, **params: object) -> str:
    text = translations(language or get_language()).gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, language: str | None = None, **params: object) -> str:
    text = translations(language or get_language()).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a message with plural forms for extraction (keyword N_plural:1,2)."""
    return singular, plural


def N_(message: str) -> str:
    """Marks a string for extraction; translated later, where the language is known."""
    return message


_ = gettext
