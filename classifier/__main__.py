"""``python -m classifier`` runs the command-line interface."""

from .cli import main

main()
