"""Realistic annual reports (zh) for the team bench's seeded members: every question of the
annual questionnaire answered in the register of a real 述职报告, with figures, varied per
member (ten kinds of post, sentences drawn and numbers filled at random from a seed), about
3,000 characters in all. About a third of the reports carry something the pre-submission
review flags (a result without a figure, a goal without a target), as real ones do.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from bot.interview.questionnaire import Questionnaire


@dataclass(frozen=True)
class Post:
    """A member's post: where they work and what they are in charge of."""

    organisation: str
    position: str
    area: str  # 分管工作
    project: str  # the key project they lead
    unit: str  # what its progress is counted in
    amount: tuple[float, float, int]  # a year's progress: low, high, decimals
    system: str  # a platform they had built
    hard: str  # the hardest problem of the year
    campaign: str  # a special campaign they led


POSTS = (
    Post("市教育局", "副局长", "基础教育和教师队伍建设", "中小学新建改扩建工程", "所学校",
         (6, 28, 0), "智慧教育", "城区学校大班额化解", "校园安全隐患排查"),
    Post("县农业农村局", "副局长", "乡村振兴和农田建设", "高标准农田建设", "万亩",
         (1.2, 4.8, 1), "农产品质量安全追溯", "蔬菜产业园土地流转", "耕地保护"),
    Post("市卫生健康委员会", "副主任", "医政医管和基层卫生", "县域医共体建设", "个乡镇卫生院",
         (8, 26, 0), "全民健康信息", "县医院与乡镇卫生院人员统筹", "医疗乱象整治"),
    Post("区住房和城乡建设局", "局长", "城市更新和建筑市场监管", "老旧小区改造", "个小区",
         (20, 140, 0), "智慧工地监管", "老旧小区加装电梯协调", "建筑施工安全"),
    Post("市交通运输局", "副局长", "公路建设和运输管理", "农村公路提质改造", "公里",
         (60, 420, 0), "交通运输综合执法", "国道改线段征地拆迁", "道路运输安全"),
    Post("县市场监督管理局", "副局长", "食品安全和质量监管", "放心农贸市场建设", "个农贸市场",
         (6, 30, 0), "食品安全智慧监管", "校园周边食品经营户整治", "食品安全"),
    Post("市生态环境局", "副局长", "大气和水污染防治", "城区黑臭水体治理", "条河道",
         (4, 18, 0), "污染源在线监控", "工业园区企业废水超标排放", "大气污染防治"),
    Post("区人力资源和社会保障局", "副局长", "就业创业和社会保险", "零工市场建设", "个零工驿站",
         (8, 40, 0), "社保经办一网通办", "农民工工资拖欠", "根治欠薪"),
    Post("市财政局", "副局长", "预算管理和国库集中支付", "预算管理一体化改革", "个预算单位",
         (120, 680, 0), "预算管理一体化", "专项债券项目资金拨付滞后", "财会监督"),
    Post("县应急管理局", "局长", "安全生产和防灾减灾", "基层应急能力提升工程", "个乡镇应急站",
         (8, 32, 0), "应急指挥调度", "山区群众汛期转移安置", "安全生产隐患排查整治"),
)  # fmt: skip

# Numbers by placeholder: drawn afresh for every sentence.
_FIGURES: dict[str, Callable[[random.Random], object]] = {
    "n": lambda r: r.randint(6, 24),
    "n2": lambda r: r.randint(9, 36),
    "m": lambda r: r.randint(25, 480),
    "m2": lambda r: r.randint(18, 96),
    "k": lambda r: r.randint(2, 5),
    "k2": lambda r: r.randint(2, 4),
    "pct": lambda r: r.randint(3, 18),
    "rate": lambda r: round(r.uniform(90, 99.8), 1),
    "pp": lambda r: round(r.uniform(0.5, 6.5), 1),
    "r1": lambda r: r.randint(4, 12),
    "r2": lambda r: r.randint(1, 3),
    "d1": lambda r: r.randint(15, 30),
    "d2": lambda r: r.randint(3, 10),
    "money": lambda r: round(r.uniform(0.8, 12.5), 2),
    "p1": lambda r: r.randint(35, 65),
    "p2": lambda r: r.randint(72, 96),
    "since": lambda r: r.randint(2019, 2024),
    "month": lambda r: r.randint(1, 12),
    "flood": lambda r: r.randint(6, 8),
    "days": lambda r: r.randint(60, 140),
    "people": lambda r: r.randint(20, 260),
    "wan": lambda r: round(r.uniform(1.1, 48.6), 1),
}

_POST = (
    "{since}年{month}月起任{organisation}{position}，分管{area}工作，联系{k}个科室和{n2}个"
    "直属单位，共{people}人。",
    "任职以来，我主要负责分管领域的政策落实、项目推进和队伍管理，同时牵头{project}和"
    "{campaign}工作。",
    "按照党组分工，我还兼任{project}工作专班副组长，负责日常调度和督促检查，全年主持召开"
    "调度会{n}次。",
    "分管领域年度预算{money}亿元，涉及重点项目{n}个，是本单位资金量最大的板块之一。",
    "到任后我先用{k}个月走遍分管的{n2}个直属单位，摸清问题{m}个，建立问题台账并逐月销号。",
)
_TASKS = (
    "年初党组明确由我牵头{k}项重点任务：一是{project}，年度目标{amount}{unit}；二是推动"
    "{area}重点指标进入全省前{r2}名；三是完成{campaign}专项行动，问题整改率达到100%。",
    "同时承担{system}平台建设任务，要求年底前上线运行，覆盖全部{n2}个直属单位。",
    "此外还负责迎接省级年度考核和{campaign}督查，确保不出现扣分项。",
    "年中又增加{campaign}专项任务，要求{k}个月内完成排查整治，问题整改率不低于{rate}%。",
)
_STUDY = (
    "全年参加党组理论学习中心组学习{n}次，撰写学习体会{k}篇，参加省级专题培训班{k2}期。",
    "结合学习，我推动把{area}领域的{k}项改革举措写入全市实施方案，带头讲专题党课{k2}次。",
    "坚持把学习成果转化为工作思路，我到{n}个县区和先进地区学习考察，形成调研报告{k}篇，"
    "其中{k2}篇获市领导批示。",
    "分管科室每月开展一次集中学习研讨，全年组织{n}场，我逐场参加并作交流发言。",
    "围绕{area}开展专题调研{k}次，我执笔的调研报告提出对策建议{n}条，其中{k2}条被纳入年度工作要点。",
    "参加市委党校中青年干部培训班，学习期间撰写的{area}课题论文获评优秀论文。",
)
_CONDUCT = (
    "市委部署{campaign}后，我牵头制定分管领域落实方案，{k}个月内在{n}个直属单位全面推开，"
    "整改问题{m}个。",
    "分管领域“三重一大”事项全部提交党组集体研究，全年向党组请示报告重大事项{k2}次。",
    "落实意识形态工作责任制，每半年研判一次分管领域意识形态形势，全年组织专题研讨{n}场。",
    "坚持把上级关于{area}的决策部署逐项分解到科室，建立台账{n}项，按月督办，完成率{rate}%。",
)
_RESULTS = (
    "我牵头推进{project}，全年完成{amount}{unit}，超额完成年度任务{pct}%，项目验收合格率100%。",
    "全市考核排名由第{r1}位升至第{r2}位，相关做法在全省现场会上作典型发言。",
    "我主持制定配套制度{n}项，办事时限由{d1}个工作日压缩到{d2}个，群众满意度达到{rate}%，"
    "比上年提高{pp}个百分点。",
    "统筹各级资金{money}亿元，我逐月调度{n}个子项目，全部按期开工，其中{k}个提前{k2}个月完工。",
    "牵头开展{campaign}专项行动，本人带队督查{n}次，排查整改问题{m}个，整改完成率{rate}%。",
    "我牵头建成{system}平台，接入单位{m}家，全年线上办理业务{wan}万件，网办率由{p1}%提高到{p2}%。",
    "组织业务培训{n}期、培训{m}人次，我亲自授课{k}次，分管领域{k2}名干部在全省业务竞赛中获奖。",
    "争取上级项目资金{money}亿元，比上年增长{pct}%，总量居全市第{r2}位。",
    "分管领域信访件办结率{rate}%，信访总量同比下降{pct}%，全年未发生重大舆情和安全事故。",
    "推动{area}领域“放管服”改革，我牵头梳理事项清单{m}项，其中{n}项实现“一次办好”，"
    "企业和群众办事跑动次数平均减少{k}次。",
    "牵头完成{project}绩效评价，{n}个项目自评得分全部在90分以上，市级抽查结果为优秀。",
    "我牵头建立跨部门联席会议制度，全年召开会议{n}次，协调解决堵点难点问题{m}个，"
    "其中{k}个问题是多年未解决的老问题。",
    "推动出台《{area}工作三年行动方案》，明确任务{n2}项，当年完成{n}项，完成率位居全市前列，"
    "获市政府通报表扬。",
    "分管领域安全生产保持平稳，全年组织应急演练{n}次，参演{m}人次，事故起数同比下降{pct}%。",
    "我牵头开展“{campaign}”回头看，对{m}个已整改问题逐一复核，发现反弹问题{k}个，"
    "全部在{k2}个月内整改到位。",
)
_RESULT_WITHOUT_FIGURE = "认真抓好{area}各项工作，取得了明显成效，得到了上级领导的充分肯定。"
_HARDEST = (
    "这一年最难的是{hard}，涉及{m}户（家），矛盾积累多年。",
    "我带队逐户走访，{k}次召开协调会，提出分类处置方案，{k2}个月内全部化解，项目如期推进。",
    "问题解决后，相关信访量同比下降{pct}%，群众满意度达到{rate}%，做法被省级简报刊发。",
    "其间我坚持每周到现场一次，全年现场办公{n}次，协调解决具体问题{m}个。",
    "为了把方案落到实处，我牵头与{k}个部门逐一会商，签订责任书{n}份，明确时间节点{m}个，"
    "每周通报一次进度。",
    "回头看，解决这一问题的关键是本人靠前指挥、一线协调，前后召开现场会{k2}次，"
    "化解历史遗留问题{n}个。",
)
_DILIGENCE = (
    "全年无因私缺勤，下基层调研指导{days}天，走遍全市{n2}个乡镇（街道）。",
    "{flood}月防汛期间，我连续{n}天驻守一线，组织转移群众{m}人，未发生人员伤亡。",
    "全年牵头处理急难任务{n}项，节假日值班带班{k2}次，{k}次深夜赶赴现场处置突发事件。",
    "坚持每周到分管科室和直属单位走一趟，全年听取基层意见建议{m}条，已办结{n}条。",
    "年初制定个人履职清单，逐月对照检查，全年{n}项重点任务中{k}项提前完成，其余全部按期完成。",
)
_DISCIPLINE = (
    "严格执行中央八项规定精神，不收受礼品礼金，不违规接受宴请，按规定报告个人有关事项。",
    "对分管科室干部开展廉政谈话{m2}人次，督促排查项目资金拨付等环节廉政风险点{n}个，"
    "逐一制定防控措施。",
    "全年参加廉政警示教育{k}次，分管领域{n}个项目全部执行公开招标，未发生违纪违法问题。",
    "带头落实党风廉政建设“一岗双责”，全年听取分管科室廉政工作汇报{k}次，督办整改问题{n}个。",
    "严格落实领导干部插手干预重大事项记录制度，全年记录报告{k2}次，做到应记尽记。",
)
_SHORTCOMINGS = (
    "调查研究不够深入，对部分项目的风险预判不足，有{k}个项目进度滞后。主要原因是自己忙于"
    "日常事务，沉到一线蹲点调研少。",
    "理论学习不够系统，学用结合还有差距，主观上存在重业务、轻学习的思想。",
    "对分管领域的日常监督不够经常，有{k}项制度执行不到位，原因是本人重业务、轻监督。",
    "创新意识不强，推进{area}工作的办法不多，思想认识与新形势新要求还有差距。",
    "统筹协调能力还需提高，{project}有{k}个子项目衔接不畅，根子在于自身统筹不够、预见性不强。",
)
_LESSONS = (
    "推进涉及群众切身利益的工作，必须先听意见、再定方案。今年{hard}起初先定方案后征求意见，"
    "走了弯路；后来改为先逐户听取意见，推进反而更快。",
    "抓落实要靠清单化、项目化管理。我把{k}项重点任务分解为{m}个具体事项，逐项明确责任人和"
    "时限，每月通报一次，年度任务全部按期完成。",
)
_IMPROVEMENTS = (
    "针对调研不深的问题，明年每季度到联系乡镇蹲点调研不少于{k}天；项目立项前一律开展风险评估。",
    "针对监督不经常的问题，每月召开一次分管科室工作例会，每季度开展一次廉政风险排查。",
)
_GOALS = (
    "{project}再完成{amount}{unit}，11月底前全部通过验收。",
    "{system}平台二期上半年上线，线上办理率达到{p2}%。",
    "{area}重点指标保持全省前{r2}名。",
    "组织业务培训不少于{n}期、{m}人次。",
)
_GOAL_WITHOUT_TARGET = "进一步加强{area}工作，推动各项工作再上新台阶。"

# Question id -> (sentence pool, entries, sentences per entry).
_SHAPE: dict[str, tuple[tuple[str, ...], tuple[int, int], tuple[int, int]]] = {
    "post": (_POST, (1, 1), (2, 4)),
    "tasks": (_TASKS, (1, 1), (2, 3)),
    "study": (_STUDY, (1, 1), (2, 4)),
    "political_conduct": (_CONDUCT, (1, 1), (2, 3)),
    "key_results": (_RESULTS, (4, 6), (2, 4)),
    "hardest": (_HARDEST, (1, 1), (3, 5)),
    "diligence": (_DILIGENCE, (1, 1), (2, 3)),
    "self_discipline": (_DISCIPLINE, (1, 1), (2, 3)),
    "shortcomings": (_SHORTCOMINGS, (2, 3), (1, 1)),
    "lessons_learnt": (_LESSONS, (1, 1), (1, 2)),
    "improvements": (_IMPROVEMENTS, (1, 1), (1, 2)),
    "goals": (_GOALS, (3, 4), (1, 1)),
}
# Where a report that came out short is lengthened (the results, as in real reports).
_PADDED = ("key_results", "hardest", "study", "diligence", "self_discipline")
# Questions whose first sentence introduces the answer, and so comes first.
_LEADS = ("post", "tasks", "hardest")


@dataclass(frozen=True)
class Report:
    """One member's post and answers: question id -> entries, in questionnaire order."""

    post: Post
    answers: dict[str, list[str]]
    flawed: bool  # written with something the pre-submission review should flag

    @property
    def characters(self) -> int:
        return sum(len(entry) for entries in self.answers.values() for entry in entries)


def check_questionnaire(questionnaire: Questionnaire) -> None:
    """Every question must have sentences here (fails loudly when the questionnaire moves)."""
    missing = [q.id for q in questionnaire.questions if q.id not in _SHAPE]
    if missing:
        raise SystemExit(f"bench/team_reports.py has no answers for questions {missing}")


def report_for(n: int, questionnaire: Questionnaire, *, seed: int = 2026) -> Report:
    """Member n's report, the same on every run."""
    rng = random.Random(seed * 1_000_003 + n)
    post = POSTS[n % len(POSTS)]

    def fill(template: str) -> str:
        values: dict[str, object] = {
            "organisation": post.organisation,
            "position": post.position,
            "area": post.area,
            "project": post.project,
            "unit": post.unit,
            "system": post.system,
            "hard": post.hard,
            "campaign": post.campaign,
        }
        for _, name, _, _ in string.Formatter().parse(template):
            if name and name not in values:
                if name == "amount":
                    low, high, decimals = post.amount
                    amount = round(rng.uniform(low, high), decimals)
                    values[name] = amount if decimals else int(amount)
                else:
                    values[name] = _FIGURES[name](rng)
        return template.format(**values)

    answers: dict[str, list[str]] = {}
    unused: dict[str, list[str]] = {}  # each question's sentences not written yet
    for question in questionnaire.questions:
        pool, (least, most), (fewest, most_sentences) = _SHAPE[question.id]
        order = list(range(len(pool)))
        rng.shuffle(order)
        if question.id in _LEADS:
            order.remove(0)
            order.insert(0, 0)
        entries: list[str] = []
        for _ in range(rng.randint(least, most) if question.multiple else 1):
            sentences = min(rng.randint(fewest, most_sentences), len(order)) or 1
            picked, order = order[:sentences] or [rng.randrange(len(pool))], order[sentences:]
            entries.append("".join(fill(pool[i]) for i in sorted(picked)))
        answers[question.id], unused[question.id] = entries, [pool[i] for i in order]
    target = rng.randint(2700, 3300)
    while sum(len(e) for es in answers.values() for e in es) < target:
        open_ = [q for q in _PADDED if unused[q]] or list(_PADDED)
        question_id = rng.choice(open_)
        sentence = unused[question_id].pop() if unused[question_id] else None
        entries = answers[question_id]
        at = rng.randrange(len(entries))
        entries[at] += fill(sentence or rng.choice(_SHAPE[question_id][0]))
    flawed = False
    if rng.random() < 0.25:
        answers["key_results"].insert(rng.randint(1, 3), fill(_RESULT_WITHOUT_FIGURE))
        flawed = True
    if rng.random() < 0.1:
        answers["goals"].append(fill(_GOAL_WITHOUT_TARGET))
        flawed = True
    return Report(post, answers, flawed)
