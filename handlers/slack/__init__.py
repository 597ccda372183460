"""Slack: slack-bolt on the conversation core."""
