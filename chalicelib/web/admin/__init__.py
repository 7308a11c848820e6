"""The operator's console (``/admin``): partners, program settings, customers, campaigns, settlements, payments and
the audit log, as pages over the same services as the operator's API. ``http`` routes every page; ``access`` says
who is signed in and whether they may write; ``forms`` turns posted fields into the API's requests; the ``*_views``
modules build the pages."""
