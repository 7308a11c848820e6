"""Use cases: typed inputs and results, one transaction per state change; no HTTP, no pynamodb."""
