"""The status subscription form (/status/subscribe/)."""

from __future__ import annotations

from django import forms

from hubs.models import Hub


class StatusSubscribeForm(forms.Form):
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    all_hubs = forms.BooleanField(label="All hubs", required=False)
    hubs = forms.MultipleChoiceField(label="Hubs", required=False, widget=forms.CheckboxSelectMultiple, choices=())

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["hubs"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(hub.code, f"{hub.label} ({hub.code})") for hub in Hub.objects.order_by("sort_order")]
        field.error_messages["invalid_choice"] = "There is no hub %(value)s. Choose among the hubs listed."
