"""Coalition loyalty network: Lambda-side code.

Layers (outer to inner):
- ``http`` / ``routes``: Chalice glue, auth, problem+json, idempotent replays.
- service modules (``partners``, ``customers``, ``ledger``, ``program``, ``auth``): one per domain concept.
- ``db``: the only module that talks to DynamoDB (pynamodb models, transactions).
- ``domain``: pure points maths with no I/O.
"""
