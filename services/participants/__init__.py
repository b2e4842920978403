"""The participants service: who takes part (institutions, campuses, academic
units; programs, calls, applications, consent, participants and training).

It is the reference layout for every service:

- ``config.py``: settings, env prefix ``PARTICIPANTS_``;
- ``models.py``: table classes only, on this service's own ``Base``;
- ``schemas/``: the Create / Update / Public families of the HTTP API, one
  module per sub-domain (``common``, ``institutions``, ``programs``,
  ``applications``, ``people``, ``training``), all re-exported by the package
  (with the vocabularies of ``enums.py``, which models, code and schemas share);
- ``dependencies.py``: who may call what, from the token alone (``AdminOnly``,
  ``CoordinatorOf``...); ``access.py``: who may do what with a record, from
  the token *and* the data (her applications, her memberships);
- ``domain/``: the pure core (eligibility rules and the status machines of
  programs, applications and memberships), with no HTTP and no database;
- use-cases on a session they never commit, free of HTTP: ``service.py``
  (institutions, campuses, units), ``programs.py``, ``eligibility.py``,
  ``applications.py``, ``selection.py``, ``consents.py``, ``people.py``, ``training.py``;
- ``routers/``: HTTP only, one module per sub-domain;
- ``main.py``: ``create_app`` on ``servicekit.app.create_service_app``;
- ``db.py``, ``__main__.py``, ``alembic.ini``, ``migrations/``: the schema,
  applied with ``python -m services.participants migrate``;
- ``tests/``: built on ``servicekit.testing``; run on SQLite and PostgreSQL.
"""
