"""Terminal views: Rich renderables built from library results (no data logic here)."""
