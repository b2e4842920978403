"""The pure core of the participants service: who is eligible for a program,
and how programs, applications and memberships may change status.

No FastAPI, no database, no HTTP: the use-case modules read the rows, call
these functions with plain values (the current time included) and turn a
``Refusal`` into a 409 problem. See README.md.
"""
