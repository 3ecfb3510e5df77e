"""Validation: request data to models, or one ValidationError naming every problem and where.

Naming: a ``require_*`` check returns the checked value or raises; a
``*_problems`` check returns the problems it found (``ErrorDetail``) and never
raises, so that callers can report every problem of a request at once.
"""
