"""Shared test helpers: a live uvicorn server, scripted backends, settings builders."""
