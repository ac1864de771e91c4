"""Mail: the outbox (stored, sent after the commit) and the SMTP transport."""
