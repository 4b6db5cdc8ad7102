"""The account endpoints: who and where you are (me), and the hubs."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hubs.models import Hub
from portal.api.accounts.serializers import HubListSerializer, HubSerializer, MeSerializer
from portal.api.base import TenantAPIView, problem_responses, problems
from portal.signed_in import signed_in_user
from snapshots.selectors.storage import storage_usage


class MeView(TenantAPIView):
    @extend_schema(
        operation_id="me",
        summary="Who and where you are",
        description=(
            "The caller, their workspace (tenant) and role in it, its hub, and its storage use: the live "
            "files the quota counts, and the bytes kept only by history."
        ),
        responses={200: MeSerializer, **problems(403)},
    )
    def get(self, request: Request) -> Response:
        tenant = self.tenant
        usage = storage_usage(tenant=tenant)
        user = signed_in_user(request)
        body = {
            "user": {"id": user.pk, "email": user.email, "time_zone": timezone.get_current_timezone_name()},
            "tenant": {"name": tenant.name, "slug": tenant.slug},
            "role": request.membership.role,  # type: ignore[attr-defined]
            "hub": tenant.hub,
            "storage": {
                "live_bytes": usage.live_bytes,
                "live_files": usage.live_files,
                "history_bytes": usage.history_bytes,
                "quota_bytes": usage.quota_bytes,
                "max_file_bytes": tenant.effective_max_file_bytes,
            },
        }
        return Response(MeSerializer(body).data)


class HubsView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="hubs_list",
        summary="The seven hubs",
        description="Where a workspace's files can live. No authentication needed.",
        responses={200: HubListSerializer, **problem_responses()},
        auth=[],
    )
    def get(self, request: Request) -> Response:
        hubs = Hub.objects.order_by("sort_order", "code")
        return Response({"items": HubSerializer(hubs, many=True).data})
