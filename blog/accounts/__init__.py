"""Staff accounts: users, API tokens, sign-in limits, public author slugs."""
