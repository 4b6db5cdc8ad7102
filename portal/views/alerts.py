"""The signed acknowledge link of an alert email: /ops/incidents/<token>/acknowledge/.

The token (``hubs.alerts.acknowledge_token_read``) names one incident and the
staff user the alert went to, and expires after HUBPORT_ALERT_ACK_LINK_HOURS.
It is the authority for this one action: no session is needed (the engineer
reads the alert on a phone at night), and it can acknowledge that incident as
that user, nothing else. GET only shows the incident and the form (link
scanners and previews follow links); POST, CSRF-protected, acknowledges through
``hubs.services.incidents.incident_acknowledge``, which stops the escalation and
tells the others. The user must still be active staff. An altered or expired
link answers 403, an incident already acknowledged or resolved a clear page.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from hubs.alerts import acknowledge_token_read, alert_facts, incident_admin_url
from hubs.errors import AlertLinkInvalid, IncidentRefused
from hubs.models import AlertDelivery, Incident
from hubs.services.incidents import incident_acknowledge
from portal.problems import status_for

TEMPLATE = "portal/alerts/acknowledge.html"


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Note (optional, private to staff)",
    )


def _page(request: HttpRequest, context: dict, *, status: int = 200) -> HttpResponse:
    response = render(request, TEMPLATE, context, status=status)
    # The token is in the address: never hand it to another site, never index it.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def incident_acknowledge_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        incident_id, user_id = acknowledge_token_read(token)
    except AlertLinkInvalid as exc:
        return _page(request, {"refusal": exc.detail}, status=status_for(exc.code))
    incident = Incident.objects.select_related("hub", "acknowledged_by").filter(pk=incident_id).first()
    user = get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first()
    if incident is None or user is None:
        refusal = AlertLinkInvalid("This link no longer works: the incident or the staff account is gone.")
        return _page(request, {"refusal": refusal.detail}, status=status_for(refusal.code))
    form = AcknowledgeForm(request.POST if request.method == "POST" else None)
    status = 200
    problem = ""
    if request.method == "POST" and form.is_valid():
        try:
            incident_acknowledge(incident=incident, acting_user=user, note=form.cleaned_data["note"].strip())
        except IncidentRefused as exc:
            problem, status = exc.detail, status_for(exc.code)
            incident.refresh_from_db()
        else:
            return HttpResponseRedirect(request.path + "?done=1")
    elif request.method == "POST":
        status = 400
    open_for_ack = incident.acknowledged_at is None and incident.state != Incident.State.RESOLVED
    context = {
        "incident": incident,
        "facts": alert_facts(incident, event=AlertDelivery.Event.OPENED).lines,
        "for_user": user,
        "form": form,
        "open_for_ack": open_for_ack,
        "done": request.GET.get("done") == "1" and incident.acknowledged_by_id == user.pk,
        "problem": problem,
        "admin_url": incident_admin_url(incident),
    }
    return _page(request, context, status=status)
