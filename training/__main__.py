"""``python -m training`` runs the same command as ``hybrid train``."""

from .cli import train_command

if __name__ == "__main__":
    train_command()
