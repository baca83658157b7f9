"""``python -m storekit.cli``."""

from . import main

main()
