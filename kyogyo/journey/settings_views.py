"""Settings → stages and rules, and reason codes (admins only).

Rules are edited as text in the rule-file form (the same YAML as ``kyogyo rules test`` and
``publish``), checked by the same validator (every problem with its path) and previewed
against today's data — who would qualify, who would change stage — before they can be
published; publishing is all or nothing, as from the command line."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from kyogyo.journey import actions, criteria, evaluation, rulefile
from kyogyo.journey.models import ReasonCode, Rule, Stage
from kyogyo.web.refusals import refusal_message
from kyogyo.web.settings_pages import admin_page, data_message, form_status, submit

PREVIEW_SAMPLE = 20
MAX_RULE_TEXT = 50_000
NEW_RULE = """key: my-new-rule
stage: mql
from: [lead, nurture]
priority: 100
when:
  all:
    - {metric: fit_score, op: gte, value: 60}
"""


class StageForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    name_ja = forms.CharField(label=gettext_lazy("Japanese name"), max_length=100, required=False)
    meaning = forms.CharField(
        label=gettext_lazy("Meaning"), widget=forms.Textarea(attrs={"translate": "no"}), required=False
    )
    meaning_ja = forms.CharField(
        label=gettext_lazy("Meaning (Japanese)"),
        widget=forms.Textarea(attrs={"translate": "no"}),
        required=False,
    )
    stall_days = forms.IntegerField(
        label=gettext_lazy("Stalled after (days)"), min_value=1, max_value=3650, required=False
    )


class RuleTextForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Rule (YAML or JSON)"),
        max_length=MAX_RULE_TEXT,
        widget=forms.Textarea(attrs={"class": "code", "spellcheck": "false", "translate": "no"}),
        strip=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Why it changes (kept with the version)"), max_length=2000, required=False
    )
    previewed = forms.CharField(widget=forms.HiddenInput, required=False)


def fingerprint(text: str) -> str:
    """What was previewed: publishing asks for a preview of exactly the text published."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@admin_page
@require_safe
def stages(request: HttpRequest) -> HttpResponse:
    context = {
        "stages": Stage.objects.select_related("team", "hands_to", "accept_to").prefetch_related("exits"),
        "rules": [
            (rule, criteria.describe(rule.current_version.definition) if rule.current_version else "")
            for rule in Rule.objects.select_related("stage", "current_version").order_by("priority", "key")
        ],
    }
    return render(request, "journey/settings/stages.html", context)


@admin_page
def stage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    stage = Stage.objects.filter(pk=pk).first()
    if stage is None:
        raise Http404
    initial = {f: getattr(stage, f) for f in StageForm.base_fields}
    form = StageForm(request.POST or None, initial=initial)
    done, _saved = submit(
        form,
        lambda data: actions.update_stage(stage, actor=request.user, **data),  # type: ignore[arg-type]
        actions.ConfigError,
    )
    if done:
        messages.success(request, _("The stage is saved."))
        return redirect("settings:stages")
    return render(
        request, "journey/settings/stage.html", {"stage": stage, "form": form}, status=form_status(form)
    )


def _rule_or_404(key: str) -> Rule:
    rule = (
        Rule.objects.select_related("stage", "current_version", "current_version__reason")
        .filter(key=key)
        .first()
    )
    if rule is None:
        raise Http404
    return rule


@admin_page
def rule_editor(request: HttpRequest, key: str | None = None) -> HttpResponse:
    """GET: the rule as text (or a starting point). POST ``preview``: validate and preview;
    POST ``publish``: publish what was previewed."""
    rule = _rule_or_404(key) if key else None
    context: dict = {"rule": rule, "versions": []}
    if rule is not None:
        context["versions"] = rule.versions.select_related("created_by").order_by("-number")[:20]
    if request.method != "POST":
        text = (
            rulefile.as_text(evaluation.candidate_from_rule(rule))
            if rule and rule.current_version
            else NEW_RULE
        )
        context["form"] = RuleTextForm(initial={"text": text})
        return render(request, "journey/settings/rule.html", context)
    form = RuleTextForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "journey/settings/rule.html", context, status=422)
    text = form.cleaned_data["text"]
    try:
        candidates = rulefile.parse_text(text)
        rulefile.check(candidates)
    except criteria.RuleError as exc:
        context["problems"] = exc.problems
        return render(request, "journey/settings/rule.html", context, status=422)
    wants_publish = request.POST.get("step") == "publish"
    if wants_publish and form.cleaned_data["previewed"] == fingerprint(text):
        try:
            versions = rulefile.publish(candidates, note=form.cleaned_data["note"], actor=request.user)  # type: ignore[arg-type]
        except criteria.RuleError as exc:
            context["problems"] = exc.problems
            return render(request, "journey/settings/rule.html", context, status=422)
        for candidate, version in zip(candidates, versions, strict=True):
            messages.success(
                request,
                data_message(
                    _("Published %(rule)s version %(number)s."), rule=candidate.key, number=version.number
                ),
            )
        return redirect("settings:stages")
    if wants_publish:
        messages.warning(request, _("The rule changed after its preview: check this preview, then publish."))
    try:
        previews = [evaluation.preview(c, sample_size=PREVIEW_SAMPLE) for c in candidates]
    except criteria.RuleError as exc:
        context["problems"] = exc.problems
        return render(request, "journey/settings/rule.html", context, status=422)
    context["previews"] = [(p, sorted(p.moves.items())) for p in previews]
    data = request.POST.copy()
    data["previewed"] = fingerprint(text)
    context["form"] = RuleTextForm(data)
    context["form"].is_valid()
    return render(request, "journey/settings/rule.html", context)


@admin_page
@require_POST
def rule_active(request: HttpRequest, key: str) -> HttpResponse:
    rule = _rule_or_404(key)
    active = request.POST.get("active") == "1"
    try:
        actions.set_rule_active(rule, actor=request.user, active=active)  # type: ignore[arg-type]
    except actions.ConfigError as exc:
        messages.error(request, refusal_message(exc))
    else:
        if active:
            messages.success(request, data_message(_("The rule %(rule)s moves people again."), rule=rule.key))
        else:
            messages.success(request, data_message(_("The rule %(rule)s is switched off."), rule=rule.key))
    return redirect("settings:stages")


class ReasonForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=150)
    label_ja = forms.CharField(label=gettext_lazy("Japanese label"), max_length=150, required=False)
    sends_to = forms.ModelChoiceField(
        label=gettext_lazy("Sends the person to"),
        queryset=Stage.objects.filter(category__in=[Stage.Category.RECYCLE, Stage.Category.EXIT]),
        required=False,
        empty_label=gettext_lazy("back to the sending team"),
        help_text=gettext_lazy("Only for handoff rejects."),
        widget=forms.Select(attrs={"translate": "no"}),
    )
    order = forms.IntegerField(label=gettext_lazy("Order"), min_value=0, max_value=1000, initial=0)


class NewReasonForm(ReasonForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ReasonCode.Kind.choices)
    key = forms.SlugField(label=gettext_lazy("Key"), max_length=40)

    field_order = ["kind", "key", "label", "label_ja", "sends_to", "order"]


class EditReasonForm(ReasonForm):
    active = forms.BooleanField(label=gettext_lazy("Active (offered in lists)"), required=False)


@admin_page
def reasons(request: HttpRequest) -> HttpResponse:
    form = NewReasonForm(request.POST or None)
    done, created = submit(
        form,
        lambda data: actions.create_reason(actor=request.user, **data),  # type: ignore[arg-type]
        actions.ConfigError,
    )
    if done:
        messages.success(request, data_message(_("The reason %(key)s is added."), key=created.key))
        return redirect("settings:reasons")
    by_kind = {kind: [] for kind, _label in ReasonCode.Kind.choices}  # type: ignore[var-annotated]
    for reason in ReasonCode.objects.select_related("sends_to").order_by("kind", "order", "key"):
        by_kind[reason.kind].append(reason)
    groups = [(label, by_kind[kind]) for kind, label in ReasonCode.Kind.choices]
    return render(
        request, "journey/settings/reasons.html", {"groups": groups, "form": form}, status=form_status(form)
    )


@admin_page
def reason_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reason = ReasonCode.objects.filter(pk=pk).first()
    if reason is None:
        raise Http404
    initial = {f: getattr(reason, f) for f in ("label", "label_ja", "sends_to", "order", "active")}
    form = EditReasonForm(request.POST or None, initial=initial)
    done, _saved = submit(
        form,
        lambda data: actions.update_reason(reason, actor=request.user, **data),  # type: ignore[arg-type]
        actions.ConfigError,
    )
    if done:
        messages.success(request, _("The reason is saved."))
        return redirect("settings:reasons")
    return render(
        request, "journey/settings/reason.html", {"reason": reason, "form": form}, status=form_status(form)
    )
