import sys

from proactif.cli import main

sys.exit(main())
