"""``python -m initlab.cli``: Ctrl-C even while the modules load is one line and exit code 130."""

import sys

try:
    from . import main
except KeyboardInterrupt:  # pragma: no cover - a signal during the imports
    sys.stderr.write("Error: interrupted; nothing was written\n")
    sys.exit(130)

main()
