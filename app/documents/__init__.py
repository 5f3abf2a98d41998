"""Stage progress reports, overall summaries and other documents, with attachments."""
