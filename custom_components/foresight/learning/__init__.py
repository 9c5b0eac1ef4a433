"""Foresight's learning engine: pure Python and numpy, no Home Assistant imports."""
