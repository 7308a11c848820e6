"""HTTP: the route tables, request parsing, problem+json and OpenAPI. Nothing below knows about HTTP."""
