"""``python -m gradcheck`` is the ``gradcheck`` command."""

import sys

from gradcheck.cli import main

sys.exit(main())
