"""The settings every benchmark run shares: durability, request size, repository root."""

from __future__ import annotations

from pathlib import Path
from typing import Final

DURABILITY: Final = "normal"
"""The durability every datasetlog store here is opened with (the library default)."""

MAX_PER_REQUEST: Final = 100_000
"""The most datapoints one ``create_datapoint`` call accepts; big builds use this chunk."""

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
