"""The draft reads like a report, not a paste of answers: the cadre's own enumerators are
not doubled, and the post is said with its unit once (issue 9, first defects)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.config import PROJECT_DIR
from bot.interview.questionnaire import Questionnaire, load_catalogue
from bot.render.document import BlockKind, ReportDocument
from bot.render.report import (
    Author,
    make_environment,
    post_in_unit,
    render_report,
    without_enumerator,
)

PROMPTS = PROJECT_DIR / "prompts"
CATALOGUE = load_catalogue(PROMPTS)
ENV = make_environment(PROMPTS)


def draft(
    language: str, answers: dict[str, tuple[str, ...]], author: Author, report: str = "annual"
) -> str:
    document: ReportDocument = render_report(
        ENV,
        CATALOGUE.get(report, language),  # type: ignore[arg-type]
        answers=answers,
        skipped=set(),
        author=author,
        period="2026",
        today=date(2026, 11, 25),
    )
    return "\n".join(block.text for block in document.blocks)


ZH = Author(name="王强", position="某市财政局副局长", organisation="某市财政局")
EN = Author(
    name="Anna Clarke",
    position="Deputy Director, Finance Bureau",
    organisation="City Finance Bureau",
)


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_the_cadres_own_enumerators_are_not_doubled(report: str) -> None:
    text = draft(
        "zh",
        {
            "shortcomings": (
                "一是深入基层调研还不够。",
                "二是，统筹协调能力有待提高。",
                "③创新意识不强。",
            )
        },
        ZH,
        report,
    )
    assert "一是深入基层调研还不够" in text and "二是统筹协调能力有待提高" in text
    assert "一是一是" not in text and "二是二是" not in text and "三是③" not in text
    english = draft(
        "en",
        {"shortcomings": ("1. Too little time in the field.", "2) Weak coordination.")},
        EN,
        report,
    )
    assert "1. Too little time in the field." in english and "2. Weak coordination." in english
    assert "1. 1." not in english and "2. 2)" not in english


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_the_post_is_said_with_its_unit_once(report: str) -> None:
    text = draft("zh", {}, ZH, report)
    assert "本人现任某市财政局副局长。" in text and "某市财政局某市财政局" not in text
    english = draft("en", {}, EN, report)
    assert "Deputy Director, City Finance Bureau" in english
    assert "Finance Bureau, City Finance Bureau" not in english


@pytest.mark.parametrize(
    ("position", "organisation", "language", "said"),
    [
        ("副局长", "某市财政局", "zh", "某市财政局副局长"),
        ("某市财政局副局长", "某市财政局", "zh", "某市财政局副局长"),
        ("财政局副局长", "某市财政局", "zh", "某市财政局副局长"),
        ("党组书记", "", "zh", "党组书记"),
        ("Deputy Director", "City Finance Bureau", "en", "Deputy Director, City Finance Bureau"),
        ("Director of City Housing", "City Housing", "en", "Director of City Housing"),
    ],
)
def test_post_in_unit(position: str, organisation: str, language: str, said: str) -> None:
    assert post_in_unit(position, organisation, language) == said


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("一是深入基层", "深入基层"),
        ("第二，加强学习", "加强学习"),
        ("（三）完善制度", "完善制度"),
        ("4、狠抓落实", "狠抓落实"),
        ("1.5倍的增长", "1.5倍的增长"),  # a number, not an enumerator
        ("第一书记驻村", "第一书记驻村"),  # a title, not an enumerator
        ("First, more field visits", "More field visits"),  # a sentence again
        ("a) fewer meetings", "Fewer meetings"),
        ("Second, my study was not systematic", "My study was not systematic"),
        ("iPhone pilot", "iPhone pilot"),  # no enumerator: nothing changed
        ("一是", "一是"),  # nothing else: kept
    ],
)
def test_without_enumerator(typed: str, kept: str) -> None:
    assert without_enumerator(typed) == kept


def test_list_items_end_as_sentences_of_the_report() -> None:
    text = draft("zh", {"shortcomings": ("调研不够深入；", "协调能力不强", "创新意识不足。")}, ZH)
    assert "一是调研不够深入。" in text and "二是协调能力不强。" in text
    assert "三是创新意识不足。" in text and "；" not in text
    english = draft("en", {"goals": ("Open two clinics;", "Cut waiting times")}, EN)
    assert "1. Open two clinics." in english and "2. Cut waiting times." in english


@pytest.mark.parametrize("report", ["annual", "integrity"])
def test_lead_ins_agree_with_the_number_of_items(report: str) -> None:
    one = draft(
        "zh", {"shortcomings": ("调研不够深入。",), "improvements": ("每月下基层。",)}, ZH, report
    )
    assert "以下不足" not in one and "主要不足是：" in one
    assert "从以下方面" not in one and "我的改进措施是：" in one
    two = draft("zh", {"shortcomings": ("调研不够深入。", "协调能力不强。")}, ZH, report)
    assert "以下不足：" in two
    # One answer holding a list typed line by line is several items.
    lines = draft("zh", {"goals": ("抓好项目建设。\n抓好队伍建设。",)}, ZH, report)
    assert "我将重点做好以下工作：" in lines
    english = draft(
        "en", {"lessons_learnt": ("Listen first.",), "goals": ("Open a clinic.",)}, EN, report
    )
    assert "this is the lesson I draw:" in english and "My main goal for next year is:" in english
    several = draft("en", {"lessons_learnt": ("Listen first.", "Measure.")}, EN, report)
    assert "these are the lessons I draw:" in several


@pytest.mark.parametrize(
    ("report", "language"), [(r, lang) for r in ("annual", "integrity") for lang in ("zh", "en")]
)
def test_every_section_has_a_lead_and_subheadings_are_not_form_labels(
    report: str, language: str
) -> None:
    questionnaire = CATALOGUE.get(report, language)  # type: ignore[arg-type]
    answers = {q.id: (f"Answer to {q.id}.",) for q in questionnaire.questions}
    blocks = _document(questionnaire, answers, language).blocks
    labels = {q.label for q in questionnaire.questions}
    headings = [b for b in blocks if b.kind is BlockKind.HEADING2]  # <h3>
    assert headings and not [h.text for h in headings if h.text.split(" ", 1)[-1] in labels]
    assert not [h for h in headings if any(h.text.endswith(label) for label in labels)]
    # The block after each section heading is a sentence of the report, not an answer.
    for index, block in enumerate(blocks):
        if block.kind is BlockKind.HEADING1:  # <h2>
            following = blocks[index + 1]
            assert following.kind is BlockKind.BODY and "Answer to" not in following.text


def test_a_lone_item_keeps_no_enumerator_of_its_own() -> None:
    text = draft("zh", {"shortcomings": ("一是深入基层调研还不够；",)}, ZH)
    assert "主要不足是：\n深入基层调研还不够。" in text
    listed = draft("zh", {"shortcomings": ("一是调研不够；\n二是协调不够；",)}, ZH)
    assert "一是调研不够。" in listed and "二是协调不够。" in listed


# A whole interview, as a cadre would type it (lists with their own enumerators and "；"),
# including the political-conduct question of version 2.

FULL_ZH: dict[str, tuple[str, ...]] = {
    "post": (
        "2023年3月起任县农业农村局副局长，分管乡村振兴、农田建设和办公室工作，联系规"
        "划建设股、农村经营管理股和县农业技术推广中心，共42人。",
    ),
    "tasks": (
        "年初局党组明确由我牵头三项重点任务：新建高标准农田2.5万亩；推动12个村的村级"
        "集体经济年收入达到10万元以上；迎接农产品质量安全县复审。",
    ),
    "study": (
        "全年参加局党组理论学习中心组学习12次，重点学习习近平总书记关于“三农”工作的重"
        "要论述，参加全省乡村振兴专题培训班1期。结合学习，推动把高标准农田建后管护写入全"
        "县实施方案，明确了管护主体和经费来源。",
    ),
    "political_conduct": (
        "市委部署耕地保护“田长制”后，我牵头制定全县实施方案，3个月内在14个乡镇全面推"
        "开，全年整改违法占用耕地问题37宗；",
        "分管领域“三重一大”事项全部提交局党组集体研究，全年向局党组请示报告重大事项6次"
        "，没有个人说了算的情况；",
    ),
    "key_results": (
        "牵头推进高标准农田建设，全年新建2.6万亩，超额完成年度任务4%，项目验收合格率"
        "100%，全市考核排名由第5位升至第2位；",
        "推动村级集体经济发展，带队到12个村逐村会诊，引进农产品加工和乡村旅游项目8个，"
        "年收入10万元以上的村由7个增加到12个；",
        "组织迎接农产品质量安全县复审，建立乡镇监管站14个，全年定量抽检1860批次，合"
        "格率98.5%，11月顺利通过省级复审。",
    ),
    "hardest": (
        "蔬菜产业园土地流转久拖不决，涉及86户。我带队逐户走访，三次召开村民代表会议，提"
        "出“保底租金+入股分红”方案，两个月内86户全部签约，项目如期开工，当年带动就业"
        "120人。",
    ),
    "diligence": (
        "全年无因私缺勤，下乡调研指导86天，走遍全县14个乡镇；7月防汛期间连续20天驻"
        "守一线，组织转移群众300余人，确保农业生产设施安全度汛。",
    ),
    "party_duty": (
        "年初与分管的3个股室负责人签订党风廉政建设责任书，每半年专题研究一次分管领域廉政"
        "工作；全年开展廉政谈话24人次，对项目资金拨付等5个关键环节开展专项检查，发现问"
        "题3个，已全部整改到位。",
    ),
    "eight_rules": (
        "严格执行公务接待标准，全年无超标准接待；分管领域会议较上年压减20%、发文压减1"
        "5%；出差严格按标准报销，未公车私用，办公用房面积符合规定。",
    ),
    "personal_matters": (
        "已于2026年1月如实填报领导干部个人有关事项报告表，无漏报瞒报；配偶在县第一中"
        "学任教，子女在读，均无经商办企业情况。",
    ),
    "self_discipline": (
        "严格执行中央八项规定精神，不收受礼品礼金，不违规接受宴请；对分管股室干部开展廉政"
        "谈话18人次，督促排查项目资金拨付环节廉政风险点6个，逐一制定防控措施。",
    ),
    "shortcomings": (
        "一是调查研究不够深入，对部分村集体经济项目的市场风险预判不足，有2个项目收益未达"
        "预期，主要原因是自己忙于日常事务；",
        "二是理论学习的系统性还不够，学用结合不够紧密，主要原因是本人存在重业务、轻学习的思想；",
    ),
    "lessons_learnt": (
        "一是推进涉及群众切身利益的项目，必须先听意见、再定方案；\n二是抓落实必须有机制"
        "，周调度、月通报比临时督办管用；",
    ),
    "improvements": (
        "每季度到联系乡镇蹲点调研不少于5天，村集体经济项目立项前一律开展市场风险评估；",
    ),
    "goals": (
        "新建高标准农田3万亩，11月底前全部通过验收；",
        "年收入10万元以上的村达到20个。",
    ),
}

FULL_EN: dict[str, tuple[str, ...]] = {
    "post": (
        "Deputy Director of the City Housing Department since March 2023, overseeing "
        "social housing, building safety and the customer service centre: three teams, "
        "46 staff in all.",
    ),
    "tasks": (
        "The board gave me three priorities: deliver 400 new social homes; halve the "
        "repairs backlog; launch an online service for tenants by September.",
    ),
    "study": (
        "I completed a 40-hour course on public procurement law and used it to redesign "
        "our repairs tender, so that the new contract sets response times and penalties "
        "for delay.",
    ),
    "political_conduct": (
        "When the council made fire safety in high-rise blocks its first priority, I "
        "drew up our action plan within a month and had it running on all 38 blocks by "
        "June;",
        (
            "Every major spending and staffing decision in my areas went to the management "
            "board, and I reported six major matters to the director before acting;"
        ),
    ),
    "key_results": (
        "Delivered 412 new social homes against a target of 400, two months ahead of "
        "schedule and 3% under budget;",
        (
            "Halved the repairs backlog, from 2,300 open jobs in January to 1,100 in "
            "December, by moving urgent repairs to one contractor;"
        ),
        (
            "Launched the online tenant service in November: 6,400 tenants registered in six "
            "weeks and calls to the centre fell by 18%."
        ),
    ),
    "hardest": (
        "A contractor went bankrupt halfway through a 120-home project. I split the "
        "remaining work into three smaller tenders, agreed terms with the surety within "
        "a fortnight, and had a new contractor on site within six weeks.",
    ),
    "diligence": (
        "No unplanned absence all year; 60 site visits across all 12 estates; during the "
        "January floods I led the emergency response and rehoused 85 households within "
        "48 hours.",
    ),
    "party_duty": (
        "In January I signed integrity commitments with the heads of my three teams and "
        "reviewed integrity risks with them every six months; I held 24 one-to-one talks "
        "and checked five high-risk payment steps, fixing the three problems found.",
    ),
    "eight_rules": (
        "No hospitality above the standard rates; meetings in my areas cut by 20% and "
        "circulars by 15% on last year; no private use of official cars.",
    ),
    "personal_matters": (
        "Filed my declaration of personal matters in full in January 2026; my spouse "
        "teaches at the No. 1 Middle School and no family member runs a business.",
    ),
    "self_discipline": (
        "I declared my interests on time and accepted no gifts or hospitality; I briefed "
        "all 46 staff on conflicts of interest and introduced a second signature for "
        "contract changes over 10,000.",
    ),
    "shortcomings": (
        "1. The online service launched three months late, mainly because I "
        "underestimated the data migration;",
        (
            "2) My oversight of contractors' quality checks was not regular enough, because "
            "I left it to the team leaders;"
        ),
    ),
    "lessons_learnt": (
        "First, consult residents before fixing a plan, not after;\nSecond, a "
        "fortnightly review catches problems while they are still cheap to fix;",
    ),
    "improvements": (
        "Monthly progress reviews with IT from January, and no go-live without a "
        "checklist I sign off myself;",
    ),
    "goals": (
        "Cut the average repair time from 14 to 7 days by the end of September;",
        "Deliver 450 new social homes on budget.",
    ),
}


def _full(report: str, language: str) -> tuple[Questionnaire, dict[str, tuple[str, ...]]]:
    questionnaire = CATALOGUE.get(report, language)  # type: ignore[arg-type]
    fixture = FULL_ZH if language == "zh" else FULL_EN
    return questionnaire, {q.id: fixture[q.id] for q in questionnaire.questions}


def _rendered(
    report: str, language: str
) -> tuple[Questionnaire, dict[str, tuple[str, ...]], ReportDocument]:
    questionnaire, answers = _full(report, language)
    return questionnaire, answers, _document(questionnaire, answers, language)


def _document(
    questionnaire: Questionnaire, answers: dict[str, tuple[str, ...]], language: str
) -> ReportDocument:
    """The report of these answers, signed by the language's fixture author."""
    return render_report(
        ENV,
        questionnaire,
        answers=answers,
        skipped=set(),
        author=ZH if language == "zh" else EN,
        period="2026",
        today=date(2026, 11, 25),
    )


FULL_CASES = [(r, lang) for r in ("annual", "integrity") for lang in ("zh", "en")]
_NUMBERING = re.compile(
    r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+(?:\.\d+)*\.?\s)"
)


def _unnumbered(heading: str) -> str:
    return _NUMBERING.sub("", heading, count=1).strip()


def _size(text: str) -> int:
    return len("".join(text.split()))


@pytest.mark.parametrize(("report", "language"), FULL_CASES)
def test_a_full_interview_has_no_list_item_ending_in_a_semicolon(
    report: str, language: str
) -> None:
    _, _, document = _rendered(report, language)
    text = "\n".join(block.text for block in document.blocks)
    assert "；。" not in text and ";." not in text
    body = [b.text for b in document.blocks if b.kind is BlockKind.BODY]
    assert not [t for t in body if t.rstrip().endswith(("；", ";", "，", ","))]


@pytest.mark.parametrize(("report", "language"), FULL_CASES)
def test_a_full_interview_opens_every_section_with_its_lead(report: str, language: str) -> None:
    questionnaire, _, document = _rendered(report, language)
    blocks = document.blocks
    leads = {section.title: section.lead for section in questionnaire.sections}
    opened = [
        (_unnumbered(block.text), blocks[i + 1])
        for i, block in enumerate(blocks)
        if block.kind is BlockKind.HEADING1
    ]
    assert [title for title, _ in opened] == [s.title for s in questionnaire.sections]
    for title, following in opened:
        assert following.kind is BlockKind.BODY and following.text == leads[title], title


@pytest.mark.parametrize(("report", "language"), FULL_CASES)
def test_a_full_interview_has_no_subheading_that_is_a_form_label(
    report: str, language: str
) -> None:
    questionnaire, _, document = _rendered(report, language)
    labels = {q.label for q in questionnaire.questions}
    subheadings = [_unnumbered(b.text) for b in document.blocks if b.kind is BlockKind.HEADING2]
    assert subheadings and not [h for h in subheadings if h in labels]
    # The political-conduct answer has its own subheading, in the report's register.
    conduct = questionnaire.question("political_conduct")
    assert conduct.heading and conduct.heading in subheadings
    study = subheadings.index(questionnaire.question("study").heading or "")
    assert subheadings[study + 1] == conduct.heading


@pytest.mark.parametrize(("report", "language"), FULL_CASES)
def test_a_full_interviews_plans_are_at_most_a_fifth_of_the_report(
    report: str, language: str
) -> None:
    questionnaire, _, document = _rendered(report, language)
    blocks = document.blocks
    body = [
        b
        for b in blocks
        if b.kind not in (BlockKind.TITLE, BlockKind.SUBTITLE, BlockKind.SIGNATURE)
    ]
    plans_title = questionnaire.sections[-1].title
    start = next(
        i for i, b in enumerate(blocks) if b.kind is BlockKind.HEADING1 and plans_title in b.text
    )
    closing = max(i for i, b in enumerate(blocks) if b.kind is BlockKind.BODY)
    plans = blocks[start:closing]
    share = sum(_size(b.text) for b in plans) / sum(_size(b.text) for b in body)
    assert share <= 0.20, round(share, 3)


@pytest.mark.parametrize(("report", "language"), FULL_CASES)
def test_a_full_interview_shows_every_answer_once_in_order(report: str, language: str) -> None:
    questionnaire, answers, document = _rendered(report, language)
    text = "\n".join(block.text for block in document.blocks)
    cores = [
        (question.id, line[len(line) // 4 : 3 * len(line) // 4])
        for question in questionnaire.questions
        for entry in answers[question.id]
        for line in entry.splitlines()
    ]
    assert "political_conduct" in {qid for qid, _ in cores}
    assert [(qid, core) for qid, core in cores if text.count(core) != 1] == []
    positions = [text.index(core) for _, core in cores]
    assert positions == sorted(positions)
