"""Local-only tooling (``make run``, test servers). Never packaged into the Lambda."""
