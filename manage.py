#!/usr/bin/env python3
"""Same as the ``kyogyo`` command, for those used to Django."""

from kyogyo.cli import main

if __name__ == "__main__":
    main()
