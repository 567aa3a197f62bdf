"""Settings → teams and users (admins only): add people, set their team and role,
deactivate them (never delete: their name stays on what they did), rename teams; and
Settings → restricted fields: which fields are hidden from whom (kyogyo/org/restricted.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kyogyo.org import actions, restricted
from kyogyo.org.models import RestrictedField, Team, User
from kyogyo.web.paging import paginate
from kyogyo.web.refusals import refusal_message
from kyogyo.web.settings_pages import admin_page, data_message, form_status, submit

PER_PAGE = 50


class NewUserForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150, required=False)
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label="—",
        widget=forms.Select(attrs={"translate": "no"}),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=User.Role.choices, initial=User.Role.MEMBER)
    password = forms.CharField(
        label=gettext_lazy("Initial password"),
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("They can change it under their preferences."),
    )


class UserForm(forms.Form):
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"),
        queryset=Team.objects.all(),
        required=False,
        empty_label="—",
        widget=forms.Select(attrs={"translate": "no"}),
    )
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=User.Role.choices)


class TeamForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    name_ja = forms.CharField(label=gettext_lazy("Japanese name"), max_length=100, required=False)


def _user(pk: int) -> User:
    found = User.objects.select_related("team").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _page(request: HttpRequest, form: NewUserForm | None = None, status: int = 200) -> HttpResponse:
    users = User.objects.select_related("team").order_by("-is_active", "username")
    context = {
        "page": paginate(request, users, PER_PAGE),
        "form": form or NewUserForm(),
        "teams": Team.objects.all(),
    }
    return render(request, "org/settings/users.html", context, status=status)


@admin_page
def users(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = NewUserForm(request.POST)
    done, created = submit(
        form,
        lambda data: actions.create_user(actor=request.user, **data),  # type: ignore[arg-type]
        actions.OrgError,
    )
    if done:
        messages.success(request, data_message(_("%(name)s can now sign in."), name=created.username))
        return redirect("settings:users")
    return _page(request, form, status=422)


@admin_page
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = _user(pk)
    form = UserForm(request.POST or None, initial={"team": person.team, "role": person.role})
    done, _saved = submit(
        form,
        lambda data: actions.update_user(person, actor=request.user, **data),  # type: ignore[arg-type]
        actions.OrgError,
    )
    if done:
        messages.success(request, _("Team and role saved."))
        return redirect("settings:users")
    return render(
        request, "org/settings/user.html", {"person": person, "form": form}, status=form_status(form)
    )


@admin_page
@require_POST
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    person = _user(pk)
    active = request.POST.get("active") == "1"
    try:
        actions.set_user_active(person, actor=request.user, active=active)  # type: ignore[arg-type]
    except actions.OrgError as exc:
        messages.error(request, refusal_message(exc))
        return redirect("settings:user", pk=person.pk)
    if active:
        messages.success(request, data_message(_("%(name)s is active again."), name=person.username))
    else:
        messages.success(
            request, data_message(_("%(name)s is deactivated; their records are kept."), name=person.username)
        )
    return redirect("settings:users")


@admin_page
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    team = Team.objects.filter(pk=pk).first()
    if team is None:
        raise Http404
    form = TeamForm(request.POST or None, initial={"name": team.name, "name_ja": team.name_ja})
    done, _saved = submit(
        form,
        lambda data: actions.rename_team(team, actor=request.user, **data),  # type: ignore[arg-type]
        actions.OrgError,
    )
    if done:
        messages.success(request, _("The team is renamed."))
        return redirect("settings:users")
    return render(request, "org/settings/team.html", {"team": team, "form": form}, status=form_status(form))


# --- restricted fields --------------------------------------------------------------------


def field_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The markable fields, grouped by kind of record, labelled in the reader's language."""
    from django.apps import apps

    groups = []
    for label, names in restricted.MARKABLE.items():
        model = apps.get_model(label)
        options = [(f"{label}.{name}", str(model._meta.get_field(name).verbose_name)) for name in names]
        groups.append((str(model._meta.verbose_name_plural).capitalize(), options))
    return groups


class RestrictedFieldForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=field_choices)
    audience = forms.ChoiceField(
        label=gettext_lazy("Who may see it"),
        choices=RestrictedField.Audience.choices,
        initial=RestrictedField.Audience.MANAGERS,
        help_text=gettext_lazy(
            "Everyone else sees “Restricted” in pages, lists, searches, the API and exports."
        ),
    )


def _field_label(mark: RestrictedField) -> str:
    return next(
        (
            f"{group} · {label}"
            for group, options in field_choices()
            for value, label in options
            if value == f"{mark.model}.{mark.field}"
        ),
        f"{mark.model}.{mark.field}",
    )


def _restricted_page(
    request: HttpRequest, form: RestrictedFieldForm | None = None, status: int = 200
) -> HttpResponse:
    marks = list(RestrictedField.objects.select_related("created_by").order_by("model", "field"))
    for mark in marks:
        mark.label = _field_label(mark)  # type: ignore[attr-defined]
    context = {"marks": marks, "form": form or RestrictedFieldForm(), "personal": restricted.PERSONAL}
    return render(request, "org/settings/restricted.html", context, status=status)


@admin_page
def restricted_fields(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _restricted_page(request)
    form = RestrictedFieldForm(request.POST)
    done, _mark = submit(
        form,
        lambda data: actions.mark_restricted(
            actor=request.user,  # type: ignore[arg-type]
            model=data["field"].rpartition(".")[0],
            field=data["field"].rpartition(".")[2],
            audience=data["audience"],
        ),
        actions.OrgError,
    )
    if done:
        messages.success(request, _("The field is restricted everywhere from now on."))
        return redirect("settings:restricted_fields")
    return _restricted_page(request, form, status=422)


@admin_page
@require_POST
def restricted_field_remove(request: HttpRequest, pk: int) -> HttpResponse:
    mark = RestrictedField.objects.filter(pk=pk).first()
    if mark is None:
        raise Http404
    actions.unmark_restricted(mark, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("The field is no longer restricted."))
    return redirect("settings:restricted_fields")
