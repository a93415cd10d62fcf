"""The default model shipped with tukipyynto (data only; load it with ``classifier.load()``)."""
