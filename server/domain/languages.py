"""The languages Kezek speaks, and the languages a kindergarten group is taught in."""

from __future__ import annotations

from enum import StrEnum


class Language(StrEnum):
    """Of the pages and of the messages to parents (R8); each has a gettext catalog."""

    KK = "kk"
    RU = "ru"
    EN = "en"


class GroupLanguage(StrEnum):
    """The language of the group a parent asks for (R7)."""

    KK = "kk"
    RU = "ru"
    OTHER = "other"
