"""mesh-audit: audit Istio routing config, live cluster vs GitOps repo."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mesh-audit")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"
