"""Signing people in with the team's OpenID Connect provider: the provider (`provider.py`) and the sessions
and sign-ins on their way (`sessions.py`). Who may do what once signed in is rag_service/access.py."""
