"""The application: everything between the chat handlers and the models."""

# Installs the session hook that seals audit events at commit, for every session.
import bot.appraisal.audit  # noqa: F401
