"""The till screen (``/till``): a cashier finds a customer, spends with the customer's code and earns on the rest of
one receipt in one press, refunds a receipt by its number, and sees the receipts of the shift.

``http`` routes a request (session, CSRF, language) to its action; ``forms`` reads amounts and turns refusals into
messages beside their fields; ``views`` renders the pages (``templates/till/``); ``session`` is who is at the till.
"""
