"""``python -m tlcourse prefetch``: see ``tlcourse.prefetch``."""

import sys

from tlcourse.prefetch import main

sys.exit(main())
