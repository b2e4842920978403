"""Settings of the evaluation service (env prefix ``EVALUATION_``).

- ``EVALUATION_PARTICIPANTS_URL`` / ``EVALUATION_MATCHING_URL`` / ``EVALUATION_SESSIONS_URL``:
  the services the program report reads, and where a respondent's role and dyad are
  read (with her own token).
- ``EVALUATION_CLIENT_ID`` / ``EVALUATION_CLIENT_SECRET`` / ``EVALUATION_TOKEN_URL``: this
  service's own client-credentials identity (scopes ``reports:read``, ``research:read``,
  ``events:read``; each call asks for the one scope it needs). After it has
  authorized its caller (a coordinator or evaluator of the program's institution, or
  an admin), the program report reads its inputs (the program, funnel, training
  statistics, matching and per-dyad outcomes: aggregates and pseudonymous dyads only)
  with this token, so that evaluators, who may not read those services, get the
  report. Unset: the report forwards the caller's token, which only coordinators and
  admins may use there (evaluators then get 403). With ``research:read`` it reads who
  in a program consents to research and to quotes (with career stage and STEM field)
  to propose an interview sample and to check consent before an interview is
  recorded; unset, those requests forward the caller's token (coordinators only).
  With ``events:read`` it follows the participants service's feed: a withdrawn
  research or quotes consent and a data subject's erasure reach her interviews;
  unset, the feed is not followed.
- ``EVALUATION_FEED_POLL_SECONDS``: how often the participants feed is polled (up to
  four times less often while it is quiet: ``servicekit.consumer``).
- ``EVALUATION_UPSTREAM_TIMEOUT``: seconds per upstream call.
- ``EVALUATION_MIN_CELL``: k, the smallest group published (default 5, never below 3).
- ``EVALUATION_MIN_TEXT``: the floor of k_text, the answers of one role needed before any of its open text,
  terms or quotes is published (default 5, never below k): a program may not go below it.
- ``EVALUATION_DEFAULT_MIN_TEXT``: k_text of a program that has not set its own (default 10).
- ``EVALUATION_PSEUDONYM_KEY``: the HMAC key of anonymous respondents' pseudonyms. A secret
  kept apart from the data (a secret store, never the database). Unset: a random key is
  generated at start-up and a warning is logged (pairing then only works within one process
  lifetime, so set it in every real deployment, identically on every replica).
"""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EVALUATION_", extra="ignore")

    service_name: str = "evaluation"
    participants_url: str = "http://127.0.0.1:8001"
    matching_url: str = "http://127.0.0.1:8002"
    sessions_url: str = "http://127.0.0.1:8003"
    upstream_timeout: float = Field(default=5.0, gt=0, le=60)
    min_cell: int = Field(default=5, ge=3)
    min_text: int = Field(default=5, ge=3)
    default_min_text: int = Field(default=10, ge=3)
    pseudonym_key: SecretStr = SecretStr("")
    feed_poll_seconds: float = Field(default=2.0, gt=0, le=3600)
