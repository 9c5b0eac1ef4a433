"""Constants of the simulated home."""

from typing import Final

DOMAIN: Final = "foresight_simulation"
