"""Writes of the reports app: recording one API request."""

from reports.models import ApiRequest


def api_request_record(*, timestamp, method: str, route: str, status_code: int,
                       user_id: int | None, ip: str | None, duration_ms: float) -> None:
    """One INSERT, no signals, no refetch: this runs on every /api/ request."""
    ApiRequest.objects.bulk_create([
        ApiRequest(timestamp=timestamp, method=method[:10], route=route[:255],
                   status_code=status_code, user_id=user_id, ip=ip, duration_ms=duration_ms)
    ])
