"""``python -m sklearn_charrnn``: the command line (the demo by default)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
