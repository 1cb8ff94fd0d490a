import sys

from fasthf.cli import main

sys.exit(main())
