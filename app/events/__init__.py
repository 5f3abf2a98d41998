"""The registry of recruitment events (招聘活动): the source for the county-week goal."""
