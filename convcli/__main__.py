"""``python -m convcli`` runs the command line."""

from convcli.cli import run

if __name__ == "__main__":
    run()
