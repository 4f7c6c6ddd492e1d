"""Bundled name lists."""

from ._base import load_dinosaurs, load_names

__all__ = ["load_dinosaurs", "load_names"]
