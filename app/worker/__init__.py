"""The background worker: webhook fan-out and delivery, reminders, e-mail."""
