"""Partner SDK (see issue: Partner SDK)."""
