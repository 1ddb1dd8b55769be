from django.db import migrations, models


class Migration(migrations.Migration):
    """The DPO's home block counts the lists exported this week: by action and time, not a scan of the week."""

    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [
        migrations.AddIndex(model_name="accesslog",
                            index=models.Index(fields=["action", "at"], name="accesslog_action_at_idx")),
    ]
