"""The application: everything between the chat handlers and the models."""

# Installs the session hook that seals audit events at commit, for every session.
import bot.audit  # noqa: F401
