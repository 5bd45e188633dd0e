"""Integrations of cdikit with container runtimes, engines and orchestrators."""
