"""`python -m align`: the command line."""
from .cli import main

main()
