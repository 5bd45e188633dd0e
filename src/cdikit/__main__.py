"""``python -m cdikit``: the ``cdi`` command."""

from __future__ import annotations

import sys

from cdikit.cli import main

if __name__ == "__main__":
    sys.exit(main())
