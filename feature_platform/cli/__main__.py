"""``python -m feature_platform.cli``: the same as the `feature-platform` script."""

import sys

from feature_platform.cli import main

sys.exit(main())
