"""What the city records (cases, events, contacts, documents, attachments) have in common."""
