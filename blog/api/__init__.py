"""The JSON API v1 (SPEC section 8), one blueprint at ``/api/v1``.

Modules: ``posts`` (reading and writing posts), ``comments`` (a post's thread, posting a reply,
counts), ``moderation`` (the queue with a token), ``openapi`` (the description), ``schemas``
(the JSON shapes), ``inputs`` (parsing requests), ``http`` (tokens, caching, CORS), ``errors``,
``blueprint`` (the blueprint the views register on), ``routes`` (the API registered on an app).
Views parse, authorize and call the same domain functions the HTML side calls.
"""
