"""``python -m greenapi``: the same command line as ``greenapi`` (see ``greenapi._cli``)."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
