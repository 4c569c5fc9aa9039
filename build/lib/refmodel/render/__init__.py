"""One renderer, two outputs: every picture of model state is built once as a neutral
description and then drawn as plain text (terminals, tests, screen readers, diffs) and as
SVG/HTML (notebooks and the static book)."""

from .picture import Picture
from .pte import pte_fields, pte_picture

__all__ = ["Picture", "pte_fields", "pte_picture"]
