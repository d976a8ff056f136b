from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

# The audit log is append-only in the database too: updates and deletes are refused.
AUDIT_GUARD = {
    "postgres": [
        "CREATE OR REPLACE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_refuse()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    ],
}


async def guard_audit_log(apps, schema_editor) -> None:
    client = schema_editor.client
    for statement in AUDIT_GUARD[client.capabilities.dialect]:
        await client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('kezek', '0002_queue_engine')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('actor', fields.CharField(max_length=100)),
                ('ip', fields.CharField(default='', max_length=64)),
                ('department_id', fields.IntField()),
                ('application', fields.ForeignKeyField('kezek.Application', source_field='application_id', null=True, db_constraint=True, to_field='id', related_name='audit', on_delete=OnDelete.CASCADE)),
                ('entity', fields.CharField(max_length=32)),
                ('entity_id', fields.CharField(default='', max_length=64)),
                ('field', fields.CharField(max_length=64)),
                ('before', fields.TextField(null=True, unique=False)),
                ('after', fields.TextField(null=True, unique=False)),
                ('reason', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'audit_log', 'app': 'kezek', 'indexes': [Index(fields=['application_id', 'id'])], 'pk_attr': 'id', 'table_description': 'One changed field of one staff change: who, when, from where, before, after, why.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StaffAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('full_name', fields.CharField(max_length=200)),
                ('role', fields.CharField(max_length=16)),
                ('department', fields.ForeignKeyField('kezek.Department', source_field='department_id', db_constraint=True, to_field='id', related_name='staff', on_delete=OnDelete.CASCADE)),
                ('password_hash', fields.CharField(max_length=200)),
                ('active', fields.BooleanField(default=True)),
                ('failed_logins', fields.SmallIntField(default=0)),
                ('locked_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_login_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'staff_account', 'app': 'kezek', 'pk_attr': 'id', 'table_description': "A member of an education department's staff (issue 4): one department, one role,"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Application',
            name='search_names',
            field=fields.CharField(default='', db_default='', max_length=400),
        ),
        ops.RunPython(guard_audit_log),
    ]
