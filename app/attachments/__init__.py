"""Files attached to cases and documents: typed by content, streamed to storage."""
