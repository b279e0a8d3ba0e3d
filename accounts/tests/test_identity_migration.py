"""The migration that makes usernames unique by look-alike copes with existing duplicates."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0003_roles")]
AFTER = [("accounts", "0004_username_lookalikes")]


@pytest.mark.django_db(transaction=True)
def test_existing_lookalikes_are_renamed_and_duplicate_addresses_cleared():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("accounts", "User")
        rows = [("red_admin", "dup@bücher.de"), ("ｒｅｄ_admin", "dup@xn--bcher-kva.de"),
                ("r\u0435d_admin", ""), ("blue", "Blue@Example.com")]
        ids = [old.objects.create(username=name, email=email, password="!").pk
               for name, email in rows]
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps.get_model("accounts", "User")
        got = {u.pk: (u.username, u.email, u.username_key) for u in new.objects.all()}
    finally:
        MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph
                                              .leaf_nodes("accounts"))
    assert got[ids[0]] == ("red_admin", "dup@xn--bcher-kva.de", "red_admin")
    assert got[ids[1]][0] == f"red_admin-{ids[1]}" and got[ids[1]][1] == ""
    assert got[ids[2]][0] == f"r\u0435d_admin-{ids[2]}"
    assert got[ids[3]] == ("blue", "Blue@example.com", "blue")
