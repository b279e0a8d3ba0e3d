"""The console's models, taken over from maintenance: in the migration state only.

The tables stay as they are here (`db_table` names maintenance's tables); maintenance
0005 drops the models from its own state, and 0002 renames the tables.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("maintenance", "0004_email_any_address_permission"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='TaskMinuteStat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('minute', models.DateTimeField()),
                        ('queue', models.CharField(max_length=100)),
                        ('succeeded', models.PositiveIntegerField(default=0)),
                        ('failed', models.PositiveIntegerField(default=0)),
                        ('runtime_sum', models.FloatField(default=0.0)),
                        ('runtime_count', models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'maintenance_taskminutestat',
                        'constraints': [models.UniqueConstraint(fields=('minute', 'queue'), name='taskminutestat_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='TaskRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('task_id', models.CharField(max_length=255, unique=True)),
                        ('name', models.CharField(max_length=255)),
                        ('queue', models.CharField(blank=True, max_length=100)),
                        ('state', models.CharField(choices=[('QUEUED', 'Queued'), ('STARTED', 'Started'), ('RETRY', 'Waiting to retry'), ('SUCCESS', 'Succeeded'), ('FAILURE', 'Failed'), ('REVOKED', 'Revoked')], default='QUEUED', max_length=16)),
                        ('args', models.TextField(blank=True, default='[]', help_text='Positional arguments (JSON)')),
                        ('kwargs', models.TextField(blank=True, default='{}', help_text='Keyword arguments (JSON)')),
                        ('options', models.JSONField(blank=True, default=dict, help_text='Routing and execution options the run was sent with')),
                        ('worker', models.CharField(blank=True, max_length=255)),
                        ('retries', models.PositiveIntegerField(default=0)),
                        ('result', models.TextField(blank=True)),
                        ('traceback', models.TextField(blank=True)),
                        ('queued_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('runtime', models.FloatField(blank=True, help_text='Seconds', null=True)),
                        ('parent_id', models.CharField(blank=True, max_length=255)),
                        ('root_id', models.CharField(blank=True, max_length=255)),
                        ('group_id', models.CharField(blank=True, max_length=255)),
                        ('discarded_at', models.DateTimeField(blank=True, null=True)),
                        ('retried_as', models.ForeignKey(blank=True, help_text='The latest run that retried this one', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='operations.taskrun')),
                        ('retry_of', models.ForeignKey(blank=True, help_text='The failed run this run retries', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='operations.taskrun')),
                    ],
                    options={
                        'ordering': ('-queued_at', '-id'),
                        'db_table': 'maintenance_taskrun', 'permissions': [('can_retry_tasks', 'Can retry failed tasks'), ('can_discard_tasks', 'Can discard failed tasks'), ('can_purge_queues', 'Can purge queues'), ('can_pause_queues', 'Can pause and resume queues'), ('can_revoke_tasks', 'Can revoke waiting tasks'), ('can_terminate_tasks', 'Can terminate running tasks')],
                    },
                ),
                migrations.CreateModel(
                    name='FailedTaskRun',
                    fields=[
                    ],
                    options={
                        'verbose_name': 'failed task',
                        'verbose_name_plural': 'failed tasks',
                        'proxy': True,
                        'indexes': [],
                        'constraints': [],
                    },
                    bases=('operations.taskrun',),
                ),
                migrations.AddIndex(
                    model_name='taskrun',
                    index=models.Index(fields=['-queued_at', '-id'], name='taskrun_queued_idx'),
                ),
                migrations.AddIndex(
                    model_name='taskrun',
                    index=models.Index(fields=['state', '-queued_at', '-id'], name='taskrun_state_idx'),
                ),
                migrations.AddIndex(
                    model_name='taskrun',
                    index=models.Index(fields=['name', '-queued_at'], name='taskrun_name_idx'),
                ),
                migrations.AddIndex(
                    model_name='taskrun',
                    index=models.Index(fields=['queue', 'state', '-queued_at'], name='taskrun_queue_idx'),
                ),
                migrations.AddIndex(
                    model_name='taskrun',
                    index=models.Index(fields=['root_id'], name='taskrun_root_idx'),
                ),
                migrations.AddIndex(
                    model_name='taskrun',
                    index=models.Index(fields=['group_id'], name='taskrun_group_idx'),
                ),
            ],
        ),
    ]
