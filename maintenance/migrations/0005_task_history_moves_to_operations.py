"""The task history and the minute counters belong to the operations app.

State only: the tables are kept (with their rows); operations 0001 took the models over and
operations 0002 renames the tables.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("maintenance", "0004_email_any_address_permission"),
        ("operations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="FailedTaskRun"),
                migrations.DeleteModel(name="TaskRun"),
                migrations.DeleteModel(name="TaskMinuteStat"),
            ],
        ),
    ]
