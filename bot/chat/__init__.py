"""The conversation, written once for every platform (see bot/infra/message.py)."""
