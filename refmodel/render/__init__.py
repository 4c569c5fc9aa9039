"""One renderer, two outputs: every picture of model state is built once as a neutral
description and then drawn as plain text (terminals, tests, screen readers, diffs) and as
SVG/HTML (notebooks and the static book).  Steppers (stepper.py) put pictures in a row
that the reader steps through, in the static book and live."""

from .picture import Picture
from .pte import pte_fields, pte_picture
from .stepper import Frame, Stepper, show, static

__all__ = ["Frame", "Picture", "Stepper", "pte_fields", "pte_picture", "show", "static"]
