"""Account security tokens for Django, built on the secrets module."""
