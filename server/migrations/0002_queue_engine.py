from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kezek', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CohortChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('department_id', fields.IntField()),
                ('cohort', fields.SmallIntField()),
                ('application', fields.ForeignKeyField('kezek.Application', source_field='application_id', null=True, db_constraint=True, to_field='id', related_name='cohort_changes', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=24)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'cohort_change', 'app': 'kezek', 'indexes': [Index(fields=['department_id', 'cohort'])], 'pk_attr': 'id', 'table_description': "Something that moves a cohort's order and is not yet reflected in its stored"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QueueChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.ForeignKeyField('kezek.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='queue_changes', on_delete=OnDelete.CASCADE)),
                ('old_number', fields.IntField()),
                ('new_number', fields.IntField()),
                ('reasons', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'queue_change', 'app': 'kezek', 'indexes': [Index(fields=['application_id', 'id'])], 'pk_attr': 'id', 'table_description': "R24: one change of one application's queue number, with its reasons counted by"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QueueCohort',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('department', fields.ForeignKeyField('kezek.Department', source_field='department_id', db_constraint=True, to_field='id', related_name='cohorts', on_delete=OnDelete.CASCADE)),
                ('cohort', fields.SmallIntField()),
                ('extraordinary', fields.IntField(default=0)),
                ('priority', fields.IntField(default=0)),
                ('general', fields.IntField(default=0)),
                ('suspended', fields.IntField(default=0)),
                ('refreshes', fields.IntField(default=0)),
                ('refreshed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'queue_cohort', 'app': 'kezek', 'unique_together': (('department', 'cohort'),), 'pk_attr': 'id', 'table_description': "One department's cohort (R19): the row a refresh locks, and what it counted."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='QueueEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.OneToOneField('kezek.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='queue_entry', on_delete=OnDelete.CASCADE)),
                ('department_id', fields.IntField()),
                ('cohort', fields.SmallIntField()),
                ('number', fields.IntField()),
                ('ahead_extraordinary', fields.IntField(default=0)),
                ('ahead_priority', fields.IntField(default=0)),
                ('ahead_general', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'queue_entry', 'app': 'kezek', 'indexes': [Index(fields=['department_id', 'cohort', 'number'])], 'pk_attr': 'id', 'table_description': "An active application's stored place in its cohort (R23), written only by a"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Application',
            name='batch_id',
            field=fields.IntField(null=True),
        ),
        # Queue numbers now live in queue_entry, written by cohort refreshes. Every
        # cohort that has registered applications is marked due a refresh, so the
        # worker's sweep numbers them again after the upgrade.
        ops.RunSQL(
            "INSERT INTO cohort_change (department_id, cohort, application_id, kind, created_at) "
            "SELECT DISTINCT department_id, cohort, CAST(NULL AS INTEGER), 'registered', CURRENT_TIMESTAMP FROM application "
            "WHERE state IN ('queued', 'suspended', 'offered') AND cohort IS NOT NULL"
        ),
        ops.RemoveField(model_name='Application', name='queue_number'),
    ]
