"""Each registered connector's own templates and static files, read from its folder.

A provider folder holds its ``templates/`` and ``static/`` beside its code (issue 11:
self-contained provider folders), and a connector is registered by its dotted path in
``FRONTDESK_CONNECTORS`` alone, not as a Django app: so Django's app loaders would not look
there. ``Templates`` (a template loader) and ``StaticFiles`` (a staticfiles finder, which
WhiteNoise serves from) look in the folders of the connectors registered now.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import utils
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage
from django.template.loaders.filesystem import Loader

from frontdesk.connectors.registry import package_dirs


class Templates(Loader):
    """Templates from ``<connector folder>/templates/``."""

    def get_dirs(self) -> list[str | Path]:
        return list(package_dirs("templates"))


class StaticFiles(BaseFinder):
    """Static files from ``<connector folder>/static/``, under their path there."""

    def _storages(self) -> list[FileSystemStorage]:
        return [FileSystemStorage(location=folder) for folder in package_dirs("static")]

    def find(self, path: str, find_all: bool = False) -> Any:  # str | None, or list[str]
        found = [s.path(path) for s in self._storages() if s.exists(path)]
        if find_all:
            return found
        return found[0] if found else None

    def list(
        self, ignore_patterns: Iterable[str] | None
    ) -> Iterator[tuple[str, FileSystemStorage]]:
        for storage in self._storages():
            for path in utils.get_files(storage, ignore_patterns):
                yield path, storage
