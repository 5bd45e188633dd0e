"""Configuring container engines to use CDI (``cdi configure``)."""
