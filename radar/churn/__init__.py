"""Silent churn: customers whose bad experiences pile up, then go quiet (domain.md 3.2)."""
