"""The one Redis lock: what the block did stands when Redis goes away before the release."""

import logging

from backoffice.locks import redis_lock


def test_redis_lost_while_holding_keeps_the_blocks_outcome(settings, private_redis, caplog):
    settings.REDIS_URL = private_redis.url
    done = []

    with caplog.at_level(logging.WARNING, logger="backoffice.locks"), \
            redis_lock("lock-lost", timeout=30):
        done.append("backup written")
        private_redis.kill()  # Redis dies before the release

    assert done == ["backup written"]
    assert "could not release lock lock-lost" in caplog.text
