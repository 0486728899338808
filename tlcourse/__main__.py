"""``python -m tlcourse prefetch`` and ``python -m tlcourse doctor``: see ``tlcourse.prefetch`` and ``tlcourse.doctor``."""

import sys

from tlcourse.prefetch import main

sys.exit(main())
