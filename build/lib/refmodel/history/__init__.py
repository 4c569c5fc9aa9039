"""Kernel code of earlier eras that the series replaced as a whole, under its own names."""
