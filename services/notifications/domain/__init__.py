"""The pure core of the notifications service: who hears what about an event
(``plans``), the words and parts of a message (``compose``), its calendar
invitation (``calendar``), signed unsubscribe links (``links``) and the retry
rule (``retry``). No FastAPI, no database, no network."""
