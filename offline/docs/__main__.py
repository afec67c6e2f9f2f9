"""``python -m offline.docs``: regenerate the pages, or record a command's JSON."""

import sys

from . import main

sys.exit(main())
