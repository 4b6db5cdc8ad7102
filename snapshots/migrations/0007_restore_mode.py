from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("snapshots", "0006_name_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="restorejob",
            name="mode",
            field=models.CharField(
                choices=[
                    ("merge", "Merge into what is there now"),
                    ("exact", "Exactly as it was (what was made since goes to Recently deleted)"),
                ],
                default="merge",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="restorejob",
            name="removed",
            field=models.BigIntegerField(
                default=0, help_text="Exact mode: items not in the source, sent to Recently deleted."
            ),
        ),
    ]
