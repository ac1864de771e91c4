"""Cached pages and versions: the one seam between the web layer and caching."""
