"""A survey's results in the chat: the Excel export and charts (PNG, Chinese glyphs included).
Both are built off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from bot import charts
from bot.context import KehuContext
from crm.surveys import analysis
from crm.surveys.analysis import Analysis, QuestionSummary
from crm.surveys.export import responses_workbook
from crm.surveys.form import QuestionType
from crm.surveys.research import Results

MAX_CHARTS = 6
_PIE_MAX_CHOICES = 6


async def export(context: KehuContext, survey_id: int) -> None:
    results = await context.services.research.results(context.member, survey_id, purpose="export")
    title = results.survey.title
    data = await asyncio.to_thread(
        responses_workbook,
        results.form,
        results.responses,
        analysis.summarise(results.form, results.responses),
        context.language,
        context.render,
        tz=context.zone,
    )
    caption = context.t("survey.export_caption", title=title, count=len(results.responses))
    context.reply_document(data, f"survey-{results.survey.form_id}.xlsx", caption)


async def charts_for(context: KehuContext, results: Results) -> list[tuple[bytes, str]]:
    found = await asyncio.to_thread(analysis.analyse, results.form, results.responses)
    return await asyncio.to_thread(_render, found, results, context.language, context.t)


async def send_charts(context: KehuContext, survey_id: int) -> None:
    results = await context.services.research.results(context.member, survey_id, purpose="charts")
    if not results.responses:
        context.reply(context.t("survey.no_responses", title=results.survey.title))
        return
    for picture, caption in await charts_for(context, results):
        context.reply_photo(picture, caption)


def _render(
    found: Analysis, results: Results, language: str, t: Callable[..., str]
) -> list[tuple[bytes, str]]:
    title = results.survey.title
    rendered: list[tuple[bytes, str]] = []
    for summary in _chartable(found.summaries)[:MAX_CHARTS]:
        label = summary.question.label(language)
        caption = t("survey.charts_caption", title=title, question=label, count=summary.answered)
        rendered.append((_chart(summary, label, language), caption))
    keywords = analysis.top_keywords(found.summaries, top_k=40)
    if keywords:
        shown = "、".join(word for word, _ in keywords[:8])
        caption = t("survey.word_cloud_caption", title=title, keywords=shown)
        rendered.append((charts.word_cloud(dict(keywords)), caption))
    return rendered


def _chartable(summaries: Sequence[QuestionSummary]) -> list[QuestionSummary]:
    return [
        summary
        for summary in summaries
        if summary.answered and (summary.choices or summary.distribution)
    ]


def _chart(summary: QuestionSummary, label: str, language: str) -> bytes:
    question = summary.question
    if summary.choices:
        names = [item.choice.label(language) for item in summary.choices]
        counts = [float(item.count) for item in summary.choices]
        if question.type is QuestionType.SELECT_ONE and len(names) <= _PIE_MAX_CHOICES:
            return charts.pie(label, names, counts)
        return charts.bar(label, names, counts, horizontal=True)
    values = [f"{value:g}" for value in summary.distribution]
    counts = [float(count) for count in summary.distribution.values()]
    return charts.bar(label, values, counts)
