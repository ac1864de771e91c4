"""Comments: submitting, the moderation policy, status changes and counts, the queue, threads,
edits, reports, privacy."""
