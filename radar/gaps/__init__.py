"""Missing-assignee detection: work nobody can be named for (domain.md 3.3)."""
