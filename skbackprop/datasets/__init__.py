"""Data sets: the placement tables of the tutorial this project grew from."""

from ._placement import load_placement, make_placement

__all__ = ["load_placement", "make_placement"]
