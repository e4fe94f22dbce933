"""A ``Form`` as plain JSON (stored with each survey version) and back, losslessly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm.surveys.form import (
    Choice,
    Form,
    FormSettings,
    Kano,
    KanoSide,
    Question,
    QuestionType,
    Quota,
    RangeSpec,
)

FORMAT = 1


def form_to_json(form: Form) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "settings": _settings_to_json(form.settings),
        "questions": [_question_to_json(question) for question in form.questions],
        "quotas": [
            {"field": quota.field, "value": quota.value, "limit": quota.limit}
            for quota in form.quotas
        ],
    }


def form_from_json(data: Mapping[str, Any]) -> Form:
    return Form(
        settings=_settings_from_json(data["settings"]),
        questions=tuple(_question_from_json(item) for item in data["questions"]),
        quotas=tuple(
            Quota(str(item["field"]), str(item["value"]), int(item["limit"]))
            for item in data.get("quotas", ())
        ),
    )


def _settings_to_json(settings: FormSettings) -> dict[str, Any]:
    return {
        "form_id": settings.form_id,
        "title": dict(settings.title),
        "version": settings.version,
        "consent": dict(settings.consent),
        "minutes": settings.minutes,
        "target": settings.target,
        "speeder_ratio": settings.speeder_ratio,
        "min_seconds": settings.min_seconds,
        "retention_days": settings.retention_days,
        "default_language": settings.default_language,
    }


def _settings_from_json(data: Mapping[str, Any]) -> FormSettings:
    return FormSettings(
        form_id=str(data["form_id"]),
        title=_labels(data.get("title")),
        version=str(data["version"]),
        consent=_labels(data.get("consent")),
        minutes=int(data["minutes"]),
        target=int(data["target"]),
        speeder_ratio=float(data["speeder_ratio"]),
        min_seconds=int(data["min_seconds"]),
        retention_days=int(data["retention_days"]),
        default_language=str(data["default_language"]),
    )


def _question_to_json(question: Question) -> dict[str, Any]:
    spec = question.range
    kano = question.kano
    return {
        "name": question.name,
        "type": question.type.value,
        "labels": dict(question.labels),
        "row": question.row,
        "hints": dict(question.hints),
        "required": question.required,
        "relevant": question.relevant,
        "constraint": question.constraint,
        "constraint_messages": dict(question.constraint_messages),
        "choices": [_choice_to_json(choice) for choice in question.choices],
        "choice_filter": question.choice_filter,
        "range": None if spec is None else [spec.start, spec.end, spec.step],
        "randomize": question.randomize,
        "kano": None if kano is None else {"feature": kano.feature, "side": kano.side.value},
        "check": question.check,
        "contradiction": question.contradiction,
        "tag": question.tag,
        "group": question.group,
    }


def _question_from_json(data: Mapping[str, Any]) -> Question:
    spec = data.get("range")
    kano = data.get("kano")
    return Question(
        name=str(data["name"]),
        type=QuestionType(data["type"]),
        labels=_labels(data.get("labels")),
        row=int(data["row"]),
        hints=_labels(data.get("hints")),
        required=bool(data.get("required", False)),
        relevant=data.get("relevant"),
        constraint=data.get("constraint"),
        constraint_messages=_labels(data.get("constraint_messages")),
        choices=tuple(_choice_from_json(item) for item in data.get("choices", ())),
        choice_filter=data.get("choice_filter"),
        range=None if spec is None else RangeSpec(*(float(number) for number in spec)),
        randomize=bool(data.get("randomize", False)),
        kano=None if kano is None else Kano(str(kano["feature"]), KanoSide(kano["side"])),
        check=data.get("check"),
        contradiction=data.get("contradiction"),
        tag=data.get("tag"),
        group=data.get("group"),
    )


def _choice_to_json(choice: Choice) -> dict[str, Any]:
    return {
        "name": choice.name,
        "labels": dict(choice.labels),
        "tag": choice.tag,
        "columns": dict(choice.columns),
    }


def _choice_from_json(data: Mapping[str, Any]) -> Choice:
    return Choice(
        name=str(data["name"]),
        labels=_labels(data.get("labels")),
        tag=data.get("tag"),
        columns=_labels(data.get("columns")),
    )


def _labels(data: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(key): str(value) for key, value in (data or {}).items()}
