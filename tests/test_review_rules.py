"""The pre-submission review: every rule file's examples, the loader's checks, and whole drafts."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import PROJECT_DIR
from bot.interview.questionnaire import Language, Questionnaire, load_catalogue
from bot.render.document import ReportDocument
from bot.render.report import Author, make_environment, render_report
from bot.review import Finding, RuleBookError, load_rulebook, review
from bot.review.detectors import EntryDetector, has_figure
from bot.review.rules import Example, Rule, example_answers

PROMPTS = PROJECT_DIR / "prompts"
CATALOGUE = load_catalogue(PROMPTS)
RULEBOOK = load_rulebook(PROMPTS, CATALOGUE)
ENV = make_environment(PROMPTS)
AUTHORS = {
    "zh": Author(name="李明", position="副局长", organisation="县农业农村局"),
    "en": Author(name="Anna Clarke", position="Deputy Director", organisation="City Housing"),
}
Answers = Mapping[str, tuple[str, ...]]


def render(
    q: Questionnaire, answers: Answers, skipped: frozenset[str] = frozenset()
) -> ReportDocument:
    return render_report(
        ENV,
        q,
        answers=answers,
        skipped=skipped,
        author=AUTHORS[q.language],
        period="2026",
        today=date(2026, 12, 20),
    )


def findings_of(
    q: Questionnaire, answers: Answers, skipped: frozenset[str] = frozenset()
) -> list[Finding]:
    document = render(q, answers, skipped)
    return review(RULEBOOK, q, answers=answers, skipped=skipped, document=document)


# Every example of every rule ---------------------------------------------------------------


def _example_cases() -> list[Any]:
    cases = []
    for (report_type, language), rules in RULEBOOK:
        for rule in rules:
            for verdict, examples in (("flag", rule.examples.flag), ("pass", rule.examples.pass_)):
                for i, example in enumerate(examples):
                    name = f"{report_type}/{language}/review.yaml:{rule.id}:{verdict}-{i}"
                    cases.append(
                        pytest.param(report_type, language, rule, verdict, example, id=name)
                    )
    return cases


def _as_answers(rule: Rule, example: Example) -> dict[str, tuple[str, ...]]:
    """An answer-level example is one entry of the rule's first question; a report-level one
    is the whole set of answers."""
    if isinstance(example, str):
        return {rule.questions[0]: (example,)}
    return example_answers(example)


@pytest.mark.parametrize(
    ("report_type", "language", "rule", "verdict", "example"), _example_cases()
)
def test_every_rule_example_is_classified_as_the_rule_file_says(
    report_type: str, language: Language, rule: Rule, verdict: str, example: Example
) -> None:
    q = CATALOGUE.get(report_type, language)
    flagged = [f for f in findings_of(q, _as_answers(rule, example)) if f.rule_id == rule.id]
    assert bool(flagged) == (verdict == "flag"), flagged


def test_every_rule_file_has_the_six_kinds_of_rule() -> None:
    expected = {
        "empty_stock_phrase",
        "result_without_figure",
        "we_without_own_role",
        "objective_causes_only",
        "plans_too_long",
        "goal_without_target",
        "length_out_of_range",
        "dimension_not_covered",
    }
    for key, rules in RULEBOOK:
        assert {rule.id for rule in rules} == expected, key


@pytest.mark.parametrize(("report_type", "language"), [key for key, _ in RULEBOOK])
def test_the_questionnaires_own_example_answers_are_not_flagged(
    report_type: str, language: Language
) -> None:
    q = CATALOGUE.get(report_type, language)
    for rule in RULEBOOK.rules_for(q):
        if not isinstance(rule.spec, EntryDetector):
            continue
        for question_id in rule.questions:
            hint = q.question(question_id).hint
            assert hint is None or not rule.spec.flags(rule.params, hint), (rule.id, hint)


def test_the_interview_asks_for_a_figure_exactly_when_the_review_would_flag_it() -> None:
    """One definition of "a figure or a comparison": the follow-up and the review agree."""
    from bot.interview.substance import NO_CHECKS, Lack, lacks_substance

    for (report_type, language), rules in RULEBOOK:
        q = CATALOGUE.get(report_type, language)
        results = q.question("key_results").model_copy(update={"min_chars": 0})
        for rule in rules:
            if rule.detector != "lacks_figure":
                continue
            for text in (*rule.examples.flag, *rule.examples.pass_):
                assert isinstance(text, str)
                follow_up = lacks_substance(results, text, NO_CHECKS) is Lack.FIGURE
                assert follow_up == rule.spec.flags(rule.params, text) == (not has_figure(text))


# Whole drafts ------------------------------------------------------------------------------

GOOD_ZH: dict[str, tuple[str, ...]] = {
    "post": (
        "2023年3月起任县农业农村局副局长，分管乡村振兴、农田建设和办公室工作，联系规划建设股、"
        "农村经营管理股和县农业技术推广中心，共42人。",
    ),
    "tasks": (
        "年初局党组明确由我牵头三项重点任务：新建高标准农田2.5万亩；推动12个村的村级集体经济"
        "年收入达到10万元以上；迎接农产品质量安全县复审。",
    ),
    "study": (
        "全年参加局党组理论学习中心组学习12次，重点学习习近平总书记关于“三农”工作的重要论述，"
        "参加全省乡村振兴专题培训班1期，撰写调研报告2篇。结合学习，我推动把高标准农田建后管护"
        "写入全县实施方案，明确了管护主体、经费来源和考核办法，解决了“重建轻管”的老问题。\n"
        "我还结合党纪学习教育，带头讲专题党课2次，组织分管股室开展“学条例、守纪律”研讨4次，"
        "把学习成效落实到规范项目管理上，修订完善农田建设项目资金管理办法1项。",
    ),
    "key_results": (
        "牵头推进高标准农田建设，全年新建2.6万亩，超额完成年度任务4%，项目验收合格率100%，"
        "全市考核排名由第5位升至第2位。针对以往项目进度慢的问题，我推行“周调度、月通报”机制，"
        "所有项目比计划提前1个月完工。",
        "推动村级集体经济发展。我带队到12个村逐村会诊，帮助制定“一村一策”发展方案，引进农产品"
        "加工、乡村旅游等项目8个，年收入10万元以上的村由7个增加到12个，全县村级集体经济总收入"
        "比上年增长23%。",
        "组织迎接农产品质量安全县复审。我牵头制定迎检工作方案，建立乡镇农产品质量安全监管站14个，"
        "全年开展定量抽检1860批次，合格率98.5%，比上年提高1.2个百分点，11月顺利通过省级复审。",
        "抓好农村人居环境整治。我负责统筹全县14个乡镇的农村改厕和垃圾治理，全年完成改厕3200户，"
        "农村生活垃圾收运处置体系实现行政村全覆盖，群众满意度测评达到92%。",
        "牵头推进农业社会化服务。我协调引进3家农业社会化服务组织，推行“土地托管”服务模式，"
        "全年托管服务面积达到5.2万亩，较上年增加1.8万亩，亩均节本增效约120元。",
        "抓好办公室和机关作风建设。我主持修订机关管理制度11项，推行公文“一次审核”制度，全年公文"
        "办理平均时限由5个工作日缩短到3个工作日，机关效能考评位居全县第3名。",
        "推进农业科技推广。我牵头组建由28名农技人员组成的科技服务团，分片包联全县14个乡镇，"
        "全年推广水稻机插秧、测土配方施肥等主推技术6项，示范面积达到3.5万亩，主要粮食作物"
        "亩产比上年提高4.2%，全县粮食总产连续第5年稳定在30万吨以上。",
    ),
    "hardest": (
        "蔬菜产业园土地流转久拖不决，涉及86户，部分群众担心租金不稳定、失去土地收益。我带队逐户"
        "走访，三次召开村民代表会议，提出“保底租金+入股分红”方案，并请县司法局现场讲解合同条款。"
        "两个月内86户全部签约，项目如期开工，当年带动就业120人，户均增收4000余元。这件事让我"
        "体会到，群众的顾虑摸清了、利益联结机制设计好了，难题就有了解决的钥匙；此后我把这一做法"
        "推广到另外2个产业项目的用地协调中，都在3个月内完成了流转。",
    ),
    "diligence": (
        "全年无因私缺勤，下乡调研指导86天，走遍全县14个乡镇、126个行政村中的98个。7月防汛期间，"
        "我连续20天驻守一线，组织转移群众300余人，确保了全县农业生产设施安全度汛。",
    ),
    "self_discipline": (
        "严格执行中央八项规定精神，不收受礼品礼金，不违规接受宴请，公务接待严格按标准执行。对分管"
        "股室干部开展廉政谈话18人次，督促排查项目资金拨付环节廉政风险点6个，逐一制定防控措施，"
        "全年分管领域未发生违规违纪问题。我还管好亲属和身边工作人员，经常提醒"
        "家属和驾驶员严守纪律，春节期间婉拒并登记上交购物卡2张。",
    ),
    "shortcomings": (
        "调查研究不够深入，对部分村集体经济项目的市场风险预判不足，有2个项目收益未达预期。主要"
        "原因是自己忙于日常事务，沉到一线蹲点调研少。",
        "理论学习的系统性还不够，学用结合不够紧密。主要原因是本人存在重业务、轻学习的思想，挤时间"
        "学习的自觉性不强。",
    ),
    "lessons_learnt": (
        "推进涉及群众切身利益的项目，必须先听意见、再定方案。今年土地流转起初先定方案后征求意见，"
        "走了弯路；后来逐户听取意见，推进反而更快。抓落实必须有机制，周调度、月通报比临时督办管用。",
    ),
    "improvements": (
        "针对调研不深的问题，明年每季度到联系乡镇蹲点调研不少于5天；村集体经济项目立项前一律开展"
        "市场风险评估。针对学习不够系统的问题，制定个人年度学习计划，每月至少精读1本专业书籍。",
    ),
    "goals": (
        "新建高标准农田3万亩，6月底前完成项目招标，11月底前全部通过验收。",
        "推动年收入10万元以上的村达到20个，全县村级集体经济总收入增长15%以上。",
    ),
}

GOOD_EN: dict[str, tuple[str, ...]] = {
    "post": (
        "Deputy Director of the City Housing Department since March 2023. I oversee social "
        "housing, building safety and the customer service centre: three teams, 46 staff in all.",
    ),
    "tasks": (
        "The board gave me three priorities for the year: deliver 400 new social homes, halve the "
        "repairs backlog, and launch an online service for tenants by September.",
    ),
    "study": (
        "I completed a 40-hour course on public procurement law and used it to redesign our "
        "repairs tender: the new contract sets response times and penalties for delay, and it "
        "has already cut the average response time by two days.",
    ),
    "key_results": (
        "I led the delivery of 412 new social homes against a target of 400, two months ahead of "
        "schedule and 3% under budget. I set up a fortnightly review with the three contractors, "
        "which caught two design problems before they reached site.",
        "I halved the repairs backlog, from 2,300 open jobs in January to 1,100 in December, by "
        "moving urgent repairs to a single contractor and introducing evening appointments.",
        "I launched the online tenant service in November, two months late against the September "
        "target; 6,400 tenants registered in the first six weeks and calls to the centre fell "
        "by 18%.",
        "I commissioned fire-risk assessments of all 38 high-rise blocks and had the 112 "
        "high-priority actions completed by the end of the year, against 64 the year before.",
    ),
    "hardest": (
        "A contractor went bankrupt halfway through a 120-home project, leaving 40 families "
        "waiting for their new homes. I split the remaining work into three smaller tenders, "
        "agreed terms with the surety within a fortnight, and had a new contractor on site within "
        "six weeks. The scheme finished only five weeks late, and no family lost its allocation.",
    ),
    "diligence": (
        "I had no unplanned absence. I made 60 site visits across all 12 estates and held monthly "
        "open meetings with tenants' associations. During the January floods I led the emergency "
        "response and rehoused 85 households within 48 hours.",
    ),
    "self_discipline": (
        "I declared my interests on time and accepted no gifts or hospitality. I gave a "
        "conflict-of-interest briefing to all 46 staff and introduced a second signature for "
        "contract changes over 10,000.",
    ),
    "shortcomings": (
        "The online tenant service launched two months late. The main cause was my own: I "
        "underestimated the data migration and did not follow progress closely enough.",
        "Complaints about repairs are still answered too slowly, in 12 days on average. I gave "
        "too little attention to the complaints process while the backlog took my time.",
    ),
    "lessons_learnt": (
        "Consult residents before fixing a plan, not after. On the estate renewal we redrafted "
        "the plan twice; once we listened first, approval took a month.",
    ),
    "improvements": (
        "For the late online service: monthly progress reviews with IT from January, and no "
        "go-live without a checklist I sign off myself. For slow complaints: a weekly complaints "
        "review that I chair.",
    ),
    "goals": (
        "Cut the average repair time from 14 to 7 days by the end of September.",
        "Deliver 450 new social homes and start work on a further 200.",
    ),
}


def _with(answers: Answers, **changes: tuple[str, ...] | None) -> dict[str, tuple[str, ...]]:
    """The answers with some replaced (a tuple) or left unanswered (None)."""
    changed = dict(answers)
    for question_id, entries in changes.items():
        if entries is None:
            changed.pop(question_id, None)
        else:
            changed[question_id] = entries
    return changed


def _where(findings: list[Finding]) -> list[tuple[str, str | None, int | None]]:
    return [(f.rule_id, f.question_id, f.entry) for f in findings]


@pytest.mark.parametrize(("language", "answers"), [("zh", GOOD_ZH), ("en", GOOD_EN)])
def test_a_good_report_has_nothing_to_return_it_for(language: Language, answers: Answers) -> None:
    assert findings_of(CATALOGUE.get("annual", language), answers) == []


def test_a_weak_chinese_report_is_returned_for_each_fault_in_questionnaire_order() -> None:
    q = CATALOGUE.get("annual", "zh")
    key_results = list(GOOD_ZH["key_results"])
    key_results[1] = "扎实推进村级集体经济发展，集体经济实力不断增强，群众获得感明显提升。"
    weak = _with(
        GOOD_ZH,
        key_results=tuple(key_results),
        hardest=(  # the same story, told as the bureau's
            GOOD_ZH["hardest"][0]
            .replace("我带队", "我们局组织干部")
            .replace("让我体会到", "让我们体会到")
            .replace("此后我把", "此后我们把"),
        ),
        self_discipline=None,
        shortcomings=(
            "部分村集体经济项目收益未达预期，主要原因是市场行情波动较大，加之人手不足、任务重。",
            GOOD_ZH["shortcomings"][1],
        ),
        goals=(GOOD_ZH["goals"][0], "持续推动村级集体经济发展壮大。"),
    )
    findings = findings_of(q, weak, skipped=frozenset({"self_discipline"}))
    assert _where(findings) == [
        ("result_without_figure", "key_results", 1),
        ("we_without_own_role", "hardest", None),
        ("dimension_not_covered", "self_discipline", None),
        ("objective_causes_only", "shortcomings", 0),
        ("goal_without_target", "goals", 1),
    ]
    by_rule = {f.rule_id: f.message for f in findings}
    assert by_rule["result_without_figure"].startswith("“重点工作成效”中这一条没有数字")
    assert "廉（廉洁自律）" in by_rule["dimension_not_covered"]
    assert "“廉洁自律情况”" in by_rule["dimension_not_covered"]


def test_a_weak_english_report_is_returned_for_each_fault_in_questionnaire_order() -> None:
    q = CATALOGUE.get("annual", "en")
    key_results = list(GOOD_EN["key_results"])
    key_results[2] = (
        "I launched the online tenant service, which has transformed how residents contact "
        "the department."
    )
    weak = _with(
        GOOD_EN,
        study=None,
        key_results=tuple(key_results),
        diligence=(
            "We worked long hours all year, and the team was on site whenever it was needed, "
            "in the January floods above all.",
        ),
        shortcomings=(
            GOOD_EN["shortcomings"][0],
            "Complaints are still answered too slowly because of staff shortages and budget cuts.",
        ),
        goals=("Improve the repairs service for tenants.", GOOD_EN["goals"][1]),
    )
    findings = findings_of(q, weak)
    assert _where(findings) == [
        ("dimension_not_covered", "study", None),
        ("result_without_figure", "key_results", 2),
        ("we_without_own_role", "diligence", None),
        ("objective_causes_only", "shortcomings", 1),
        ("goal_without_target", "goals", 0),
    ]
    assert findings[0].message.startswith("The report says nothing about conduct and learning.")
    assert "“Learning and its application”" in findings[0].message


def test_findings_about_the_whole_report_come_last() -> None:
    q = CATALOGUE.get("annual", "zh")
    short = {"post": GOOD_ZH["post"], "key_results": GOOD_ZH["key_results"][:1]}
    findings = findings_of(q, short)
    assert _where(findings) == [
        ("dimension_not_covered", "study", None),
        ("dimension_not_covered", "hardest", None),
        ("dimension_not_covered", "diligence", None),
        ("dimension_not_covered", "self_discipline", None),
        ("length_out_of_range", None, None),
    ]
    assert findings[-1].message.startswith("全文约")


def test_plans_that_outweigh_the_report_point_at_the_longest_plans_answer() -> None:
    q = CATALOGUE.get("annual", "en")
    long_goals = tuple(f"{goal} {goal} {goal}" for goal in GOOD_EN["goals"] * 6)
    findings = findings_of(q, _with(GOOD_EN, goals=long_goals))
    plans = [f for f in findings if f.rule_id == "plans_too_long"]
    assert _where(plans) == [("plans_too_long", "goals", None)]
    assert "more than the usual fifth (at most 22%)" in plans[0].message
    assert "“Goals for next year”" in plans[0].message


def test_dimension_coverage_comes_from_the_tags_not_from_keywords() -> None:
    q = CATALOGUE.get("annual", "zh")
    integrity_talk = (
        "廉洁自律方面，本人严格执行中央八项规定精神，不收受礼品礼金，不违规接受宴请，"
        "但对分管领域廉政风险防控抓得不够紧，主要原因是自己重业务、轻监督。",
    )
    without = _with(GOOD_ZH, self_discipline=None, shortcomings=integrity_talk)
    assert ("dimension_not_covered", "self_discipline", None) in _where(findings_of(q, without))
    # Any answer under the tagged question covers it, whatever its words.
    plain = _with(GOOD_ZH, self_discipline=("见个人有关事项报告，本年度无变化。",))
    assert not [f for f in findings_of(q, plain) if f.rule_id == "dimension_not_covered"]


def test_in_the_integrity_report_any_integrity_question_covers_integrity() -> None:
    q = CATALOGUE.get("integrity", "zh")
    assert [x.id for x in q.questions if x.dimension == "lian"] == [
        "party_duty",
        "eight_rules",
        "personal_matters",
        "self_discipline",
    ]
    only_eight_rules = _with(
        GOOD_ZH, self_discipline=None, eight_rules=("分管领域会议较上年压减20%，发文压减15%。",)
    )
    covered = [f for f in findings_of(q, only_eight_rules) if f.rule_id == "dimension_not_covered"]
    assert covered == []
    none = [f for f in findings_of(q, _with(GOOD_ZH, self_discipline=None)) if f.question_id]
    assert ("dimension_not_covered", "party_duty", None) in _where(none)


def test_every_question_of_a_dimension_is_tagged_in_both_languages() -> None:
    for report_type in ("annual", "integrity"):
        zh, en = (CATALOGUE.get(report_type, lang) for lang in ("zh", "en"))
        assert [(x.id, x.dimension) for x in zh.questions] == [
            (x.id, x.dimension) for x in en.questions
        ]
        tags = {x.id: x.dimension for x in zh.questions}
        assert tags["study"] == "de" and tags["hardest"] == "neng" and tags["diligence"] == "qin"
        assert tags["key_results"] == "ji" and tags["self_discipline"] == "lian"
        assert tags["post"] is None and tags["goals"] is None


def test_the_review_is_fast_enough_for_a_request() -> None:
    from tests.utils.journeys import answer_for

    q = CATALOGUE.get("integrity", "zh")
    counts = {"key_results": 15, "shortcomings": 6, "goals": 7}
    answers = {
        x.id: tuple(answer_for(x.id, i) for i in range(counts.get(x.id, 1))) for x in q.questions
    }
    assert sum(map(len, answers.values())) == 40
    document = render(q, answers)
    timings = []
    for _ in range(30):
        start = time.perf_counter()
        review(RULEBOOK, q, answers=answers, skipped=frozenset(), document=document)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.005, timings


# The loader refuses what it cannot trust ---------------------------------------------------


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """A copy of prompts/ to break."""
    return Path(shutil.copytree(PROMPTS, tmp_path / "prompts"))


def _edit_rules(prompts: Path, change: Any, where: str = "annual/zh") -> None:
    path = prompts / where / "review.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change({rule["id"]: rule for rule in data["rules"]})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            lambda r: r["result_without_figure"]["examples"].update(
                flag=r["result_without_figure"]["examples"]["flag"][:4]
            ),
            r"rule 'result_without_figure': .*at least 5 examples to flag and 5 to pass, "
            r"has 4 and 6",
        ),
        (
            lambda r: r["we_without_own_role"]["examples"]["pass"].clear(),
            r"rule 'we_without_own_role': .*at least 5 .* has \d+ and 0",
        ),
        (
            lambda r: r["result_without_figure"].update(detector="counts_figures"),
            r"rule 'result_without_figure': detector: unknown detector 'counts_figures'",
        ),
        (
            lambda r: r["we_without_own_role"]["questions"].append("achievements"),
            r"rule 'we_without_own_role': unknown question ids: achievements",
        ),
        (
            lambda r: r["plans_too_long"]["examples"]["flag"][0].update(plan="x"),
            r"rule 'plans_too_long': example answers unknown question 'plan'",
        ),
        (
            lambda r: r["result_without_figure"].update(message="“{lable}”没有数字。"),
            r"rule 'result_without_figure': message uses \['lable'\]",
        ),
        (
            lambda r: r["result_without_figure"].update(message="<b>{label}</b>没有数字。"),
            r"rule 'result_without_figure': message must be plain text",
        ),
        (
            lambda r: r["objective_causes_only"]["params"].pop("subjective"),
            r"rule 'objective_causes_only': params.subjective: Field required",
        ),
        (
            lambda r: r["length_out_of_range"].update(questions=["post"]),
            r"rule 'length_out_of_range': detector 'report_length' takes no questions",
        ),
    ],
    ids=[
        "too-few-to-flag",
        "none-to-pass",
        "unknown-detector",
        "unknown-question",
        "unknown-question-in-example",
        "unknown-placeholder",
        "markup-in-message",
        "missing-param",
        "questions-where-none-apply",
    ],
)
def test_the_loader_refuses_a_bad_rule_naming_file_and_rule(
    prompts: Path, change: Any, error: str
) -> None:
    _edit_rules(prompts, change)
    with pytest.raises(RuleBookError, match=r"annual/zh/review\.yaml: " + error):
        load_rulebook(prompts, load_catalogue(prompts))


def test_every_questionnaire_needs_a_rule_file(prompts: Path) -> None:
    (prompts / "integrity" / "en" / "review.yaml").unlink()
    with pytest.raises(RuleBookError, match=r"integrity/en/review\.yaml: missing"):
        load_rulebook(prompts, load_catalogue(prompts))


def test_start_up_fails_on_a_bad_rule_file_and_loads_the_rules_otherwise(prompts: Path) -> None:
    from bot.services.resources import load_resources

    settings = {"default_language": "zh", "zone": "Asia/Shanghai", "answer_limit": 4096}
    resources = load_resources(prompts, **settings)  # type: ignore[arg-type]
    assert resources.review.rules_for(CATALOGUE.get("annual", "zh"))
    _edit_rules(prompts, lambda r: r["result_without_figure"].update(detector="nope"))
    with pytest.raises(RuleBookError, match="unknown detector 'nope'"):
        load_resources(prompts, **settings)  # type: ignore[arg-type]
