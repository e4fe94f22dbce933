"""The import's helper process: ``python -m crm.importing.reader_process``, started by
``crm.importing.source``. Its task comes on stdin, its messages go out on stdout (frames of
pickles); anything a library prints goes to stderr instead."""

from __future__ import annotations

import os
import sys

from crm.importing.source import run_helper


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with channel:
        run_helper(sys.stdin.buffer, channel)


if __name__ == "__main__":
    main()
