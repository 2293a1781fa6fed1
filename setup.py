"""Build hook: the wheel carries the top-level templates/, static/ and alembic/ as pb/_data/.

The repository keeps those folders at its top level, where people look for them; a wheel can
only install files inside its packages, so building one copies them into ``pb/_data/``.
``pb.resources`` finds them there, or beside the package in a checkout. An editable install
(``make``) copies nothing: it runs from the checkout. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TOP_LEVEL = ("templates", "static", "alembic")


class BuildPyWithTopLevelFolders(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for name in TOP_LEVEL:
            target = Path(self.build_lib, "pb", "_data", name)
            shutil.rmtree(target, ignore_errors=True)  # no stale file from an earlier build
            shutil.copytree(name, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]"))


setup(cmdclass={"build_py": BuildPyWithTopLevelFolders})
