"""`python -m align.cli`."""
from . import main

main()
