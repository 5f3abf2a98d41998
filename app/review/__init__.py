"""Review (审核): reviewers approve, return or reopen a city's table for a period, and adopt,
recommend or return its highlight cases (SPEC 10)."""
