"""The pure core of the notifications service: who hears what about an event
(``plans``), the words and parts of a message (``compose``), its calendar
invitation (``calendar``), signed unsubscribe links (``links``), the retry
rule (``retry``) and quiet hours (``quiet``). No FastAPI, no database, no network."""
