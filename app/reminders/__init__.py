"""Reminders (催报): before and after each due instant, to the cities still missing an item."""
