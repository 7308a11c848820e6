"""The write machinery every use case shares: the write plan and its one transaction (``idempotency``), the wallet
inside one write (``write_session``, ``wallets``), the order a write joins, the program and partner settings a write
reads, rate limits, campaign awards, the events and audit records staged into the write. It calls no use case
(``chalicelib.services``): the layers contract in pyproject.toml enforces it."""
