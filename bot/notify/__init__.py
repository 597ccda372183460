"""What the bot pushes, and when: the outbox and its senders, the scheduler and its
jobs (deadline reminders, the head's daily digest, the weekly report, appeal
notices), who can be reached, and the charts they carry."""
