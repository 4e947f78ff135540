"""``python -m benefitshare.cli``: the same as the ``benefitshare`` command."""

import sys

from benefitshare.cli import main

sys.exit(main())
