"""The local chat page: a phone-sized web chat that talks to the real conversation core.

    from handlers.web import create_app
    app = create_app(sessions(engine), personas=True)   # then serve it with uvicorn

It is the embedded default and the training sandbox: pick a persona, bind with a code,
then talk to the bot exactly as on Telegram (buttons, edited messages, pictures, files).
"""

from handlers.web.app import create_app

__all__ = ["create_app"]
