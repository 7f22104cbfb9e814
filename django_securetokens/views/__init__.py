"""Class-based views for the HTTP flows; each flow lives in its own module.

Every view is configured by class attributes and can be subclassed; URL names are in
:mod:`django_securetokens.urls`.
"""
