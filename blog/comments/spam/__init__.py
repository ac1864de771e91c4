"""The spam filter: features of a comment, the score, learning from moderators."""
