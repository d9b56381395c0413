"""Terminal views: Rich renderables built from library results, shared by commands and reports."""
