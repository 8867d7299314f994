"""Running a django-filter FilterSet for an API list: a bad parameter is the API's 400."""

from rest_framework import serializers


def filtered(filterset_class, *, params, queryset):
    """The queryset narrowed by `params`; a bad parameter raises the API's 400."""
    # A value that is empty or only whitespace (?status=, ?account=%C2%A0) would filter
    # nothing (the form fields strip it to nothing): refused, as the schema's formats say.
    blank = {
        name: ["May not be empty or blank."]
        for name in filterset_class.base_filters
        if name in params and not params[name].strip()
    }
    if blank:
        raise serializers.ValidationError(blank)
    filterset = filterset_class(params, queryset=queryset)
    if not filterset.is_valid():
        raise serializers.ValidationError(
            {field: list(messages) for field, messages in filterset.errors.items()}
        )
    return filterset.qs
