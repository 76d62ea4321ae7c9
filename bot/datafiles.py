"""Reading the project's YAML data files (rule packs, templates, texts).

libyaml's C loader when the installed PyYAML has it: ten times faster than the
pure-Python one, which matters for a command line that must start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
