"""The JSON API: every flow for single-page and mobile apps, on Django REST framework.

Mount it with ``path("api/auth/", include("django_securetokens.api.urls"))`` (namespace
``securetokens_api``); it needs the ``drf`` extra. Each endpoint is a thin front end over the
same :mod:`django_securetokens.flows` code the HTML views run, so limits, no-enumeration and
mail behave alike in both.
"""
