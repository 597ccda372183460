"""What every part of the application uses: settings, translation and number
formats, working days and time zones, refusals, and the one message shape (text,
buttons, a picture or a file) that answers and pushes share."""
