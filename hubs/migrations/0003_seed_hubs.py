"""Seed the seven hubs and their two facilities each. The codes are fixed:
database aliases, queues and storages are named after them."""

from django.db import migrations

HUBS = [
    # code, city, country, region, IANA time zone
    ("uk", "London", "United Kingdom", "Europe", "Europe/London"),
    ("de", "Frankfurt", "Germany", "Europe", "Europe/Berlin"),
    ("us", "Ashburn, Virginia", "United States", "USA", "America/New_York"),
    ("ae", "Dubai", "United Arab Emirates", "UAE", "Asia/Dubai"),
    ("hk", "Hong Kong", "Hong Kong", "Hong Kong", "Asia/Hong_Kong"),
    ("au", "Sydney", "Australia", "Australasia", "Australia/Sydney"),
    ("nz", "Auckland", "New Zealand", "Australasia", "Pacific/Auckland"),
]


def seed(apps, schema_editor):
    Hub = apps.get_model("hubs", "Hub")
    Facility = apps.get_model("hubs", "Facility")
    for order, (code, city, country, region, zone) in enumerate(HUBS):
        hub, _ = Hub.objects.update_or_create(
            code=code,
            defaults={"city": city, "country": country, "region": region, "time_zone": zone, "sort_order": order},
        )
        short_city = city.split(",")[0]
        for role, suffix in (("primary", "1"), ("alternate", "2")):
            Facility.objects.get_or_create(hub=hub, role=role, defaults={"name": f"{short_city} {suffix}"})


class Migration(migrations.Migration):
    dependencies = [("hubs", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
