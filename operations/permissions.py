"""Which permission each console action needs: the one map the admin and the views read."""

from __future__ import annotations

VIEW_PERMISSION = "operations.view_taskrun"
ACTION_PERMISSIONS = {
    "retry": "operations.can_retry_tasks",
    "discard": "operations.can_discard_tasks",
    "purge": "operations.can_purge_queues",
    "pause": "operations.can_pause_queues",
    "revoke": "operations.can_revoke_tasks",
    "terminate": "operations.can_terminate_tasks",
    "rate_limit": "operations.can_rate_limit_tasks",
    "scale": "operations.can_scale_workers",
    "restart_pool": "operations.can_restart_workers",
    "shutdown": "operations.can_shutdown_workers",
}


def user_can(user) -> dict[str, bool]:
    """Each console action → whether `user` may press it."""
    return {name: user.has_perm(permission) for name, permission in ACTION_PERMISSIONS.items()}


def allowed_actions(user) -> set[str]:
    """The console actions `user` may press."""
    return {name for name, ok in user_can(user).items() if ok}
