"""The conversation, written once for every platform (see bot/chat/types.py)."""
