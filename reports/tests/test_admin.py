"""The ApiRequest changelist: no COUNT over the table, filters that indexes serve."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from reports.models import ApiRequest

pytestmark = pytest.mark.django_db

URL = "/admin/reports/apirequest/"


@pytest.fixture
def staff_client(client):
    admin = User.objects.create_superuser("root", "root@example.com", "pw-Long-enough-1")
    client.force_login(admin)
    return client


@pytest.fixture
def rows():
    now = timezone.now()
    ApiRequest.objects.bulk_create([
        ApiRequest(timestamp=now - timedelta(minutes=n), method="GET" if n % 2 else "POST",
                   route="/api/public/" if n % 3 else "/api/login/",
                   status_code=200 if n % 5 else 500, ip="127.0.0.1", duration_ms=n)
        for n in range(60)
    ])


@pytest.mark.parametrize("query", [
    "", "?method=POST", "?status_class=5xx", "?route=/api/login/",
    "?timestamp_from_0=2020-01-01&timestamp_from_1=00:00:00"
    "&timestamp_to_0=2100-01-01&timestamp_to_1=00:00:00",
    "?q=/api/public/",
])
def test_changelist_never_counts_the_whole_table(staff_client, rows, query):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(URL + query)

    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()
              and "api_request" in q["sql"].lower().replace('"', "")]
    assert counts == []
    distinct = [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper()
                and "reports_apirequest" in q["sql"]]
    assert distinct == []


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a naive datetime reaching the query
def test_the_time_range_is_read_in_the_site_time_zone(staff_client, rows):
    since = timezone.localtime() - timedelta(minutes=10, seconds=30)
    query = f"?timestamp_from_0={since:%Y-%m-%d}&timestamp_from_1={since:%H:%M:%S}"

    listed = staff_client.get(URL + query).context["cl"].result_list

    assert sorted(row.duration_ms for row in listed) == list(range(11))


def test_filters_narrow_the_rows(staff_client, rows):
    listed = staff_client.get(URL + "?status_class=5xx").context["cl"].result_list
    assert {row.status_code for row in listed} == {500}
    listed = staff_client.get(URL + "?method=POST&route=/api/login/").context["cl"].result_list
    assert listed and {(r.method, r.route) for r in listed} == {("POST", "/api/login/")}


def test_filters_are_backed_by_indexes():
    indexed = {tuple(index.fields) for index in ApiRequest._meta.indexes}
    assert {("route", "timestamp"), ("status_code", "-timestamp"),
            ("method", "-timestamp")} <= indexed
    assert ApiRequest._meta.get_field("timestamp").db_index


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner is predictable")
@pytest.mark.parametrize(("query", "index"), [
    ("?status_class=5xx", "reports_apireq_error_ts"),
    ("?status_class=4xx", "reports_apireq_error_ts"),
    ("?method=DELETE", "reports_apireq_method_ts"),
    ("?route=/api/login/", "reports_apireq_route_ts"),
])
def test_filter_queries_use_their_index(staff_client, rows, query, index):
    queryset = staff_client.get(URL + query).context["cl"].queryset
    sql, params = queryset[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert index in plan
    if index == "reports_apireq_route_ts":  # read backwards: "newest first" without a sort
        assert "TEMP B-TREE" not in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner is predictable")
def test_a_users_rows_are_found_by_the_partial_user_index(staff_client, rows):
    """Only signed-in requests are in the user index, and lookups by user still use it."""
    user = User.objects.get(username="root")
    ApiRequest.objects.filter(pk__in=ApiRequest.objects.values("pk")[:3]).update(user=user)
    queries = [ApiRequest.objects.filter(user_id=user.pk),
               ApiRequest.objects.filter(user_id__in=[user.pk, user.pk + 1])]
    for queryset in queries:
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            assert "reports_apireq_user" in " ".join(str(row) for row in cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM reports_apirequest INDEXED BY reports_apireq_user "
                       "WHERE user_id IS NOT NULL")
        assert cursor.fetchone()[0] == 3  # the anonymous rows have no entry


def test_deleting_a_user_keeps_their_logged_requests_anonymously(rows):
    user = User.objects.create_user("gone", "gone@example.com", "pw-Long-enough-1")
    ApiRequest.objects.filter(pk__in=ApiRequest.objects.values("pk")[:4]).update(user=user)
    user.delete()
    assert ApiRequest.objects.count() == 60
    assert not ApiRequest.objects.exclude(user=None).exists()


def test_auditor_sees_the_log_but_cannot_change_it(client, rows):
    from django.contrib.auth.models import Group

    auditor = User.objects.create_user("aud", "aud@example.com", "pw-Long-enough-1",
                                       is_staff=True)
    auditor.groups.add(Group.objects.get(name="Auditors"))
    client.force_login(auditor)
    assert client.get(URL).status_code == 200
    row = ApiRequest.objects.first()
    page = client.get(f"{URL}{row.pk}/change/")
    assert page.status_code == 200
    assert client.post(f"{URL}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ApiRequest.objects.filter(pk=row.pk).exists()
