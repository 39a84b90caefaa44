"""mesh-audit: audit Istio routing config, live cluster vs GitOps repo."""

import functools


@functools.cache
def version() -> str:
    """The installed package version (looked up lazily: importlib.metadata is slow to import)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("mesh-audit")
    except PackageNotFoundError:  # running from a source tree without install
        return "0.0.0+src"
