"""Hubs and facilities in the support staff's admin: seeded hubs are edited,
never added or deleted; facility availability changes are audited."""

from __future__ import annotations

import pytest

from conftest import all_databases
from hubs.models import Facility, Hub, StaffAuditEntry
from hubs.signals import facility_became_available
from portal.tests.admin.test_accounts import changeform_data, login_verified

pytestmark = all_databases


@pytest.fixture
def staff_client(client):
    client.staff_user = login_verified(client)
    return client


def test_hub_list_shows_the_seven_hubs_and_their_facilities(staff_client):
    response = staff_client.get("/admin/hubs/hub/")
    assert response.status_code == 200
    assert [hub.code for hub in response.context["cl"].result_list] == ["uk", "de", "us", "ae", "hk", "au", "nz"]
    assert "London 2 (alternate): available" in response.content.decode()


def test_hubs_cannot_be_added_or_deleted(staff_client):
    assert staff_client.get("/admin/hubs/hub/add/").status_code == 403
    assert staff_client.post("/admin/hubs/hub/uk/delete/", {"post": "yes"}).status_code == 403
    assert Hub.objects.filter(code="uk").exists()
    assert staff_client.get("/admin/hubs/facility/add/").status_code == 403
    facility = Facility.objects.get(hub_id="uk", role="primary")
    assert staff_client.post(f"/admin/hubs/facility/{facility.pk}/delete/", {"post": "yes"}).status_code == 403


def test_hub_code_and_serving_facility_are_read_only(staff_client):
    url = "/admin/hubs/hub/de/change/"
    page = staff_client.get(url)
    form = page.context["adminform"].form
    assert "code" not in form.fields and "serving_facility" not in form.fields
    data = changeform_data(page)
    data.update({"code": "xx", "serving_facility": "alternate", "city": "Frankfurt am Main"})

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    hub = Hub.objects.get(code="de")
    assert hub.city == "Frankfurt am Main"
    assert hub.serving_facility == "primary"
    assert not Hub.objects.filter(code="xx").exists()
    entry = StaffAuditEntry.objects.get(action="hub.change")
    assert (entry.before["city"], entry.after["city"]) == ("Frankfurt", "Frankfurt am Main")


def test_hub_time_zone_must_be_an_iana_zone(staff_client):
    url = "/admin/hubs/hub/uk/change/"
    data = changeform_data(staff_client.get(url))
    data["time_zone"] = "Mars/Olympus_Mons"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    assert "time_zone" in response.context["adminform"].form.errors
    assert Hub.objects.get(code="uk").time_zone == "Europe/London"


def test_facility_inline_on_the_hub_shows_role_name_and_availability_and_is_audited(staff_client):
    url = "/admin/hubs/hub/hk/change/"
    page = staff_client.get(url)
    [inline] = page.context["inline_admin_formsets"]
    assert [field["name"] for field in inline.fields()] == ["role", "name", "is_available"]
    assert "role" not in inline.formset.forms[0].fields, "role is shown read-only"
    assert len(inline.formset.forms) == 2
    data = changeform_data(page)
    alternate = Facility.objects.get(hub_id="hk", role="alternate")
    prefix = next(
        key[: -len("-id")] for key, value in data.items() if key.endswith("-id") and value == str(alternate.pk)
    )
    data.pop(f"{prefix}-is_available")

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    alternate.refresh_from_db()
    assert alternate.is_available is False
    entry = StaffAuditEntry.objects.get(action="facility.mark_unavailable")
    assert entry.target_id == str(alternate.pk)
    assert (entry.before["is_available"], entry.after["is_available"]) == (True, False)
    assert not StaffAuditEntry.objects.filter(action="hub.change").exists()


def test_toggling_a_facility_is_audited(staff_client):
    facility = Facility.objects.get(hub_id="us", role="alternate")

    staff_client.post("/admin/hubs/facility/", {"action": "mark_unavailable", "_selected_action": [str(facility.pk)]})
    facility.refresh_from_db()
    assert facility.is_available is False
    off = StaffAuditEntry.objects.get(action="facility.mark_unavailable")
    assert off.actor == staff_client.staff_user
    assert (off.before["is_available"], off.after["is_available"]) == (True, False)

    staff_client.post("/admin/hubs/facility/", {"action": "mark_available", "_selected_action": [str(facility.pk)]})
    facility.refresh_from_db()
    assert facility.is_available is True
    assert StaffAuditEntry.objects.filter(action="facility.mark_available").count() == 1


def test_facility_change_form_toggle_is_audited_and_warns_when_it_serves_the_hub(staff_client):
    facility = Facility.objects.get(hub_id="au", role="primary")
    url = f"/admin/hubs/facility/{facility.pk}/change/"
    page = staff_client.get(url)
    assert set(page.context["adminform"].form.fields) == {"name", "is_available"}
    data = changeform_data(page)
    data.pop("is_available")

    response = staff_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert "still served by Sydney 1" in response.content.decode()
    facility.refresh_from_db()
    assert facility.is_available is False
    entry = StaffAuditEntry.objects.get(action="facility.mark_unavailable")
    assert (entry.before["is_available"], entry.after["is_available"]) == (True, False)


@pytest.fixture
def became_available():
    received: list[dict] = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    facility_became_available.connect(receiver, dispatch_uid="test-admin-became-available")
    yield received
    facility_became_available.disconnect(dispatch_uid="test-admin-became-available")


def facility_form(staff_client, facility, **changes):
    url = f"/admin/hubs/facility/{facility.pk}/change/"
    data = changeform_data(staff_client.get(url))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = "on" if value is True else value
    return url, data


@pytest.mark.parametrize("path", ["form", "inline", "action"])
def test_a_facility_made_available_in_the_admin_runs_the_service_once_and_the_store_hears_after_commit(
    staff_client, became_available, django_capture_on_commit_callbacks, monkeypatch, path
):
    facility = Facility.objects.get(hub_id="ae", role="alternate")
    Facility.objects.filter(pk=facility.pk).update(is_available=False)
    calls: list[dict] = []
    from hubs.services import hubs as hub_services

    real = hub_services.facility_change

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr("portal.admin.hubs.facility_change", spy)
    monkeypatch.setattr("hubs.services.hubs.facility_change", spy)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        if path == "form":
            url, data = facility_form(staff_client, facility, is_available=True)
            response = staff_client.post(url, data)
        elif path == "inline":
            url = "/admin/hubs/hub/ae/change/"
            data = changeform_data(staff_client.get(url))
            prefix = next(key[:-3] for key, value in data.items() if key.endswith("-id") and value == str(facility.pk))
            data[f"{prefix}-is_available"] = "on"
            response = staff_client.post(url, data)
        else:
            response = staff_client.post(
                "/admin/hubs/facility/", {"action": "mark_available", "_selected_action": [str(facility.pk)]}
            )
        assert response.status_code == 302
        assert became_available == [], "not before the commit"
    for callback in callbacks:
        callback()

    assert len(calls) == 1 and calls[0]["is_available"] is True
    assert became_available == [{"signal": facility_became_available, "hub_code": "ae", "facility_id": facility.pk}]
    [entry] = StaffAuditEntry.objects.filter(action__startswith="facility.")
    assert (entry.action, entry.actor) == ("facility.mark_available", staff_client.staff_user)
    assert (entry.before["is_available"], entry.after["is_available"]) == (False, True)


def test_renaming_a_facility_in_the_admin_is_one_change_entry(staff_client):
    facility = Facility.objects.get(hub_id="nz", role="primary")
    url, data = facility_form(staff_client, facility, name="Auckland North")
    assert staff_client.post(url, data).status_code == 302
    [entry] = StaffAuditEntry.objects.filter(action__startswith="facility.")
    assert (entry.action, entry.before["name"], entry.after["name"]) == (
        "facility.change",
        "Auckland 1",
        "Auckland North",
    )


def test_the_hub_page_shows_blobs_waiting_for_their_second_facility(client, make_tenant):
    import io

    from snapshots.services import file_write

    made = make_tenant(hub="hk")
    Facility.objects.filter(hub_id="hk", role="alternate").update(is_available=False)
    file_write(
        tenant=made.tenant, path="/a.bin", stream=io.BytesIO(b"x" * 2048), content_length=2048, acting_user=made.user
    )
    login_verified(client)
    page = client.get("/admin/hubs/hub/hk/change/").content.decode()
    assert "Waiting for the second facility" in page and "1 blob, 2 KiB" in page
    assert "nothing" in client.get("/admin/hubs/hub/uk/change/").content.decode()
