"""``python -m tlcourse prefetch``, ``doctor`` and ``workers``: see ``tlcourse.prefetch``, ``tlcourse.doctor``
and ``tlcourse.distribute``."""

import sys

if sys.argv[1:2] == ["workers"]:  # several MultiWorkerMirroredStrategy workers on this machine
    from tlcourse.distribute import main as workers_main

    sys.exit(workers_main(sys.argv[2:]))

from tlcourse.prefetch import main  # noqa: E402

sys.exit(main())
