"""``python -m datasetlog``: the same as the ``datasetlog`` command."""

import sys

from datasetlog.cli import main

sys.exit(main())
