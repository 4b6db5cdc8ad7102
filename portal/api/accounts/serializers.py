"""Output shapes of the account endpoints (me, hubs)."""

from __future__ import annotations

from rest_framework import serializers


class HubSerializer(serializers.Serializer):
    code = serializers.CharField()
    city = serializers.CharField()
    country = serializers.CharField()
    region = serializers.CharField()
    time_zone = serializers.CharField(help_text="IANA time zone, e.g. Europe/London.")


class HubListSerializer(serializers.Serializer):
    items = HubSerializer(many=True)


class MeUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    time_zone = serializers.CharField(
        help_text="The IANA time zone this API gives your times in: the one you chose in your profile, else your hub's."
    )


class MeTenantSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.SlugField()


class StorageSerializer(serializers.Serializer):
    live_bytes = serializers.IntegerField(help_text="Bytes of the live files: what the quota counts.")
    live_files = serializers.IntegerField()
    history_bytes = serializers.IntegerField(
        help_text="Bytes kept only by history (files deleted or overwritten within the retention period), "
        "so they can be restored; the quota does not count them."
    )
    quota_bytes = serializers.IntegerField(
        help_text="Live bytes you may store. Limits are set in binary units: 1 TiB is 1,099,511,627,776 bytes."
    )
    max_file_bytes = serializers.IntegerField(
        help_text="The largest single file you may upload, in bytes. Limits are set in binary units: 20 GiB is "
        "21,474,836,480 bytes."
    )


class MeSerializer(serializers.Serializer):
    user = MeUserSerializer()
    tenant = MeTenantSerializer()
    role = serializers.CharField()
    hub = HubSerializer()
    storage = StorageSerializer()
