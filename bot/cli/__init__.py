"""The HR command line; the app is assembled in `bot.cli.main`."""
