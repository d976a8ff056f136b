from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('kezek', '0003_staff_backoffice')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AllocationDue',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('department_id', fields.IntField()),
                ('cohort', fields.SmallIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'allocation_due', 'app': 'kezek', 'indexes': [Index(fields=['department_id', 'cohort'])], 'pk_attr': 'id', 'table_description': "A department's cohort whose seats came free or were published since its last"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Group',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kindergarten', fields.ForeignKeyField('kezek.Kindergarten', source_field='kindergarten_id', db_constraint=True, to_field='id', related_name='groups', on_delete=OnDelete.CASCADE)),
                ('department_id', fields.IntField()),
                ('name', fields.CharField(max_length=100)),
                ('cohort', fields.SmallIntField()),
                ('language', fields.CharField(max_length=8)),
                ('capacity', fields.SmallIntField()),
                ('enrolled', fields.SmallIntField(default=0)),
                ('active', fields.BooleanField(default=True)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'kindergarten_group', 'app': 'kezek', 'unique_together': (('kindergarten', 'name'),), 'indexes': [Index(fields=['department_id', 'cohort'])], 'pk_attr': 'id', 'table_description': "A kindergarten's age group (R25): the cohort it takes, its language, its size."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Seat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.ForeignKeyField('kezek.Group', source_field='group_id', db_constraint=True, to_field='id', related_name='seats', on_delete=OnDelete.CASCADE)),
                ('department_id', fields.IntField()),
                ('cohort', fields.SmallIntField()),
                ('state', fields.CharField(default='open', max_length=12)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('published_by', fields.CharField(max_length=100)),
                ('chosen_until', fields.DateField()),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.CharField(default='', max_length=100)),
            ],
            options={'table': 'seat', 'app': 'kezek', 'indexes': [Index(fields=['department_id', 'cohort', 'state']), Index(fields=['group_id', 'state'])], 'pk_attr': 'id', 'table_description': 'One published vacant seat of a group (R25), offered by the allocation.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Referral',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.UUIDField(unique=True)),
                ('kind', fields.CharField(default='referral', max_length=12)),
                ('application', fields.ForeignKeyField('kezek.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='referrals', on_delete=OnDelete.CASCADE)),
                ('seat', fields.ForeignKeyField('kezek.Seat', source_field='seat_id', db_constraint=True, to_field='id', related_name='referrals', on_delete=OnDelete.CASCADE)),
                ('group', fields.ForeignKeyField('kezek.Group', source_field='group_id', db_constraint=True, to_field='id', related_name='referrals', on_delete=OnDelete.CASCADE)),
                ('kindergarten', fields.ForeignKeyField('kezek.Kindergarten', source_field='kindergarten_id', db_constraint=True, to_field='id', related_name='referrals', on_delete=OnDelete.CASCADE)),
                ('department_id', fields.IntField()),
                ('cohort', fields.SmallIntField()),
                ('state', fields.CharField(default='offered', db_index=True, max_length=12)),
                ('window', fields.CharField(max_length=8)),
                ('rank', fields.SmallIntField(null=True)),
                ('queue_number', fields.IntField()),
                ('benefit_class', fields.CharField(max_length=16)),
                ('staff_child', fields.BooleanField(default=False)),
                ('offered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accept_by', fields.DateField()),
                ('present_by', fields.DateField(null=True)),
                ('confirm_by', fields.DateField(null=True)),
                ('benefit_confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reason', fields.TextField(default='', unique=False)),
                ('explanation', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('open_application', fields.IntField(null=True, unique=True)),
                ('open_seat', fields.IntField(null=True, unique=True)),
                ('version', fields.IntField(default=1)),
            ],
            options={'table': 'referral', 'app': 'kezek', 'indexes': [Index(fields=['department_id', 'offered_at']), Index(fields=['application_id', 'id']), Index(fields=['kindergarten_id', 'state'])], 'pk_attr': 'id', 'table_description': 'An offer of one seat to one child (R26–R30), with its deadlines and its history.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Application',
            name='suspended_until',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='BenefitCategory',
            name='marks_referral',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Department',
            name='regime',
            field=fields.CharField(default='referral', db_default='referral', max_length=12),
        ),
        ops.AddField(
            model_name='Kindergarten',
            name='active',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='Kindergarten',
            name='version',
            field=fields.IntField(default=1, db_default=1),
        ),
        ops.AddField(
            model_name='StaffAccount',
            name='kindergarten',
            field=fields.ForeignKeyField('kezek.Kindergarten', source_field='kindergarten_id', null=True, db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.CASCADE),
        ),
    ]
