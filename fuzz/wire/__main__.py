"""``python -m fuzz.wire``: the same as ``rfcmail fuzz``."""

import sys

from fuzz.wire.run import main

sys.exit(main())
