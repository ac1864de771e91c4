"""Posts: reading, authoring, categories, search, feeds, sitemaps, the admin dashboards."""
