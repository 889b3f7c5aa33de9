"""The command line (Typer): labelcli.cli.app holds the app and main(), the exception -> exit-code
boundary; options holds the shared options; detect and review the commands."""
from labelcli.cli.app import app, main

__all__ = ["app", "main"]
