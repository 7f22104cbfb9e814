"""A small site that uses django-securetokens; `make demo` runs it."""
