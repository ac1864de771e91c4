"""Comments: submitting, the moderation policy (policy.decide: every hold rule), the one writer
of statuses, events and counts (transitions), the table of allowed changes (moderation), the
queue, threads, edits, reports, privacy."""
