import sys

from symrouting.cli import main

sys.exit(main())
