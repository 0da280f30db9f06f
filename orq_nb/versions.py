"""``show_versions``: what a bug report needs, in one call."""

from __future__ import annotations

import importlib.metadata
import platform
import sys

__all__ = ["show_versions"]

#: The packages orq_nb runs on, core first, then each extra's.
PACKAGES = ("orq_nb", "pandas", "pyarrow", "numpy", "scipy", "marshmallow", "requests", "urllib3",
            "ipywidgets", "matplotlib", "plotly", "anywidget", "itables", "deltalake", "dask", "distributed",
            "tqdm", "voila", "jupyterlab", "notebook", "ipykernel")


def versions() -> dict[str, str | None]:
    """Python, the platform and each package's installed version (None when not installed)."""
    found: dict[str, str | None] = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def show_versions() -> None:
    """Print the versions of Python, the platform and the packages orq_nb uses, for a bug report."""
    found = versions()
    width = max(map(len, found))
    for name, version in found.items():
        print(f"{name:<{width}}  {version or '(not installed)'}")
