"""Class-based views of the HTML pages: forms, templates, the session and HTTP.

Each flow's logic is in :mod:`django_securetokens.flows`, which the JSON API shares. Every
view is configured by class attributes and can be subclassed; URL names are in
:mod:`django_securetokens.urls`, the only module that imports these.
"""
