"""The built-in dashboard (全省春风行动进度看板): a small static app served from the package,
showing only what the public API answers."""
