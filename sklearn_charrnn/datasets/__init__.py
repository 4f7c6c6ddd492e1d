"""Bundled name lists."""

from ._base import load_dinosaurs, load_names
from ._labelled import load_surnames, load_us_first_names

__all__ = ["load_dinosaurs", "load_names", "load_surnames", "load_us_first_names"]
