"""The deployment artefacts, checked offline: docker-compose.yml (test_compose), the image
and the PostgreSQL init script (test_image), the Kubernetes manifests (test_kubernetes),
with the facts they must agree on in facts.py and their fixtures in conftest.py.

No Docker engine or cluster runs here: nothing is built, started or applied, except
deploy/postgres/init.sh, run against the suite's PostgreSQL server. The validators are
imported at module level on purpose: if one is missing a module fails to import and the
run fails; nothing here is skipped.
"""
