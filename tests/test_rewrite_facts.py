"""The rewrite's fact check: words may change, facts may not."""

from __future__ import annotations

import pytest

from bot.rewrite.facts import Violation, check, protected_items

CADRE_ZH = {"name": "张三", "post": "副局长", "organisation": "某市财政局"}
CADRE_EN = {"name": "Anna Clarke", "post": "Deputy Director", "organisation": "City Finance Bureau"}

DUTIES_ZH = "2022年5月起任某市财政局副局长，分管预算科、国库科和绩效管理科，带领干部职工23名。"
RESULTS_ZH = (
    "牵头完成全市预算绩效管理改革，共审核项目资金2.6亿元，一般性支出压减百分之十五。\n"
    "3月15日前完成13个专项资金检查项目中的12个，用三天时间完成审计整改“回头看”。\n"
    "组织学习《中华人民共和国预算法》，全年开展集中学习24次。\n"
    "严格落实三会一课制度，推动驻村第一书记帮扶2个村。"
)
# Faithful, with numerals written the other way round: 三天 → 3天, 百分之十五 → 15%, 24 → 二十四.
FAITHFUL_ZH = (
    "一年来，本人牵头完成全市预算绩效管理改革，共审核项目资金2.6亿元，一般性支出压减15%。"
    "一是狠抓专项检查，于3月15日前完成13个专项资金检查项目中的12个，仅用3天即完成审计整改"
    "“回头看”；二是强化理论学习，认真组织学习《中华人民共和国预算法》，全年开展集中学习二十四次；"
    "三是严格落实三会一课制度，推动驻村第一书记帮扶两个村。2024年度各项工作取得新成效。"
)

RESULTS_EN = (
    "Led the reform of performance budgeting across the city; reviewed project funds of "
    "2.6 million yuan and cut general spending by 15%.\n"
    "Finished 12 of the 13 inspection projects before 15 March, in three days each."
)
FAITHFUL_EN = (
    "I led the city's reform of performance budgeting, reviewing project funds of 2.6 million "
    "yuan and cutting general spending by 15 percent. Before 15 March I finished twelve of "
    "the 13 inspection projects, taking 3 days for each. In 2024 this laid the ground for "
    "next year."
)


def check_zh(source: str, rewritten: str, period: str = "2024") -> list[Violation]:
    return check(source, rewritten, period=period, language="zh", **CADRE_ZH)


def check_en(source: str, rewritten: str, period: str = "2024") -> list[Violation]:
    return check(source, rewritten, period=period, language="en", **CADRE_EN)


# Faithful rewrites ------------------------------------------------------------------------


def test_faithful_chinese_rewrite_with_numerals_written_differently_passes() -> None:
    assert check_zh(RESULTS_ZH, FAITHFUL_ZH) == []


def test_faithful_english_rewrite_with_number_words_passes() -> None:
    assert check_en(RESULTS_EN, FAITHFUL_EN) == []


def test_faithful_duties_rewrite_keeps_organisation_and_post() -> None:
    rewritten = (
        "自2022年5月起，我担任某市财政局副局长，分管预算科、国库科和绩效管理科，带领23名干部职工。"
    )
    assert check_zh(DUTIES_ZH, rewritten) == []


@pytest.mark.parametrize(
    ("source", "rewritten"),
    [
        ("全年完成项目两千零二十四个。", "全年完成项目2024个。"),
        ("审核资金2.6万元。", "审核资金26000元。"),
        ("审核资金26,000元。", "审核资金2.6万元。"),
        ("投入资金二点六亿元。", "投入资金2.6亿元。"),
        ("考核排名全市第二。", "年度考核位列全市第2名。"),
        ("执行率百分之五十。", "执行率达到50%。"),
        ("用了三天。", "仅用3天。"),
        ("2024年3月启动试点。", "于二〇二四年三月启动试点。"),
        ("2024-03-15召开动员会。", "2024年3月15日召开动员会。"),
    ],
)
def test_same_figure_written_another_way_is_kept(source: str, rewritten: str) -> None:
    assert check_zh(source, rewritten, period="") == []


def test_enumerators_and_the_period_are_not_inventions() -> None:
    source = "完成预算编制。\n开展专项检查。\n组织集中学习。"
    rewritten = (
        "2024年度，本人主要做了以下三个方面的工作。\n"
        "（一）完成预算编制。一是摸清底数，二是细化科目。\n"
        "1. 开展专项检查；\n（2）组织集中学习。\n"
        "第二个方面是改进作风：第一，严守纪律；第二，改进文风。"
    )
    assert check_zh(source, rewritten) == []


def test_set_phrases_are_not_numbers() -> None:
    source = "一年来，严格落实三会一课制度，担任驻村第一书记，增强四个意识，做到两个维护。"
    assert protected_items(source, language="zh", **CADRE_ZH) == []
    rewritten = (
        "一年来，本人严格落实“三会一课”制度，以第一书记身份驻村，增强“四个意识”、做到“两个维护”。"
    )
    assert check_zh(source, rewritten) == []


def test_a_rewrite_may_add_the_year_of_the_period_to_a_date() -> None:
    source = "3月15日召开全局动员大会。"
    assert check_zh(source, "2024年3月15日，本人主持召开全局动员大会。") == []


# Adversarial rewrites, Chinese ------------------------------------------------------------


def test_invented_figure_is_caught() -> None:
    rewritten = FAITHFUL_ZH.replace("压减15%", "压减15%，同比增长8%")
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("invented", "8%")]


def test_changed_figure_is_both_missing_and_invented() -> None:
    rewritten = FAITHFUL_ZH.replace("2.6亿元", "3.6亿元")
    assert check_zh(RESULTS_ZH, rewritten) == [
        Violation("missing", "2.6亿元"),
        Violation("invented", "3.6亿元"),
    ]


def test_dropped_figure_is_caught() -> None:
    rewritten = FAITHFUL_ZH.replace("13个专项资金检查项目中的12个", "12个专项资金检查项目")
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("missing", "13个")]


def test_dropped_date_is_caught() -> None:
    rewritten = FAITHFUL_ZH.replace("于3月15日前", "提前")
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("missing", "3月15日")]


def test_invented_day_in_a_date_is_caught() -> None:
    source = "2024年3月启动试点。"
    assert check_zh(source, "2024年3月18日启动试点。") == [Violation("invented", "2024年3月18日")]


def test_a_unit_suffix_changes_the_figure() -> None:
    assert check_zh("审核资金2.6万元。", "审核资金2.6亿元。") == [
        Violation("missing", "2.6万元"),
        Violation("invented", "2.6亿元"),
    ]


def test_changed_organisation_is_caught() -> None:
    rewritten = (
        "自2022年5月起，我担任某县财政局副局长，分管预算科、国库科和绩效管理科，带领23名干部职工。"
    )
    assert check_zh(DUTIES_ZH, rewritten) == [Violation("missing", "某市财政局")]


def test_dropped_title_is_caught() -> None:
    rewritten = FAITHFUL_ZH.replace("《中华人民共和国预算法》", "预算法律法规")
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("missing", "《中华人民共和国预算法》")]


def test_dropped_quoted_term_is_caught() -> None:
    rewritten = FAITHFUL_ZH.replace("审计整改“回头看”", "审计整改复查")
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("missing", "“回头看”")]


def test_quotation_marks_may_change() -> None:
    rewritten = FAITHFUL_ZH.replace("“回头看”", "「回头看」")
    assert check_zh(RESULTS_ZH, rewritten) == []


def test_more_we_than_the_answers_is_caught() -> None:
    rewritten = FAITHFUL_ZH.replace("一年来，本人牵头", "一年来，我们牵头")
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("we", "我们")]


def test_as_much_we_as_the_answers_is_allowed() -> None:
    source = "我们科室完成预算编制。"
    assert check_zh(source, "本人带领我们科室完成预算编制。") == []


def test_english_prose_for_a_chinese_section_is_caught() -> None:
    source = "完成13个项目中的12个。"
    rewritten = "I completed 12 of the 13 planned projects on time and within budget."
    assert check_zh(source, rewritten) == [Violation("language", "")]


def test_a_few_latin_letters_in_chinese_prose_are_allowed() -> None:
    source = "推动5G基站和政务APP建设，完成13个信息化重点项目，群众和企业办事时间明显缩短。"
    rewritten = (
        "本人推动5G基站建设和政务APP上线运行，共完成13个信息化重点项目，"
        "群众和企业办事时间明显缩短。"
    )
    assert check_zh(source, rewritten) == []  # 39 CJK among 43 letters: 91 %


def test_latin_words_of_the_answers_do_not_count_against_chinese() -> None:
    # A project's code and an English name the cadre used are quoted, not English prose.
    source = "牵头推进SMART-CAMPUS项目，PPP模式引入社会资本，覆盖38所学校。"
    rewritten = "我牵头推进SMART-CAMPUS项目，以PPP模式引入社会资本，覆盖38所学校。"
    assert check_zh(source, rewritten) == []
    # English the answers never used still counts.
    added = rewritten + "The campus project was a great success for everyone involved."
    assert check_zh(source, added) == [Violation("language", "")]


@pytest.mark.parametrize("rewritten", ["", "   \n\t"])
def test_empty_reply_is_one_violation(rewritten: str) -> None:
    assert check_zh(RESULTS_ZH, rewritten) == [Violation("empty", "")]


# Adversarial rewrites, English ------------------------------------------------------------


def test_english_invented_number_is_caught() -> None:
    rewritten = FAITHFUL_EN.replace("15 percent", "15 percent, saving 40 million yuan")
    assert check_en(RESULTS_EN, rewritten) == [Violation("invented", "40 million yuan")]


def test_english_dropped_number_is_caught() -> None:
    rewritten = FAITHFUL_EN.replace("twelve of the 13", "twelve")
    assert check_en(RESULTS_EN, rewritten) == [Violation("missing", "13 inspection")]


def test_english_more_we_is_caught() -> None:
    rewritten = FAITHFUL_EN.replace("I led the city's", "We led our city's")
    assert check_en(RESULTS_EN, rewritten) == [Violation("we", "we")]


def test_we_is_a_whole_word() -> None:
    rewritten = FAITHFUL_EN.replace("I led", "As the budget owner I led") + " Results were good."
    assert check_en(RESULTS_EN, rewritten) == []


# Protected items and descriptions ---------------------------------------------------------


def test_protected_items_in_order_without_repeats() -> None:
    source = DUTIES_ZH + "\n" + RESULTS_ZH + "\n再次用三天完成复查，印发《2024年绩效评价办法》。"
    assert protected_items(source, language="zh", **CADRE_ZH) == [
        "2022年5月",
        "某市财政局",
        "副局长",
        "23名",
        "2.6亿元",
        "百分之十五",
        "3月15日",
        "13个",
        "12个",
        "三天",
        "“回头看”",
        "《中华人民共和国预算法》",
        "24次",
        "2个",
        "《2024年绩效评价办法》",  # its year is kept with it, not listed again
    ]


def test_cadre_details_absent_from_the_answers_are_not_required() -> None:
    assert protected_items(RESULTS_ZH, language="zh", **CADRE_ZH)[0] == "2.6亿元"
    assert check_zh("完成13个项目。", "本人完成13个项目。") == []


@pytest.mark.parametrize(
    ("violation", "zh", "en"),
    [
        (Violation("missing", "3天"), "缺少“3天”", "missing “3天”"),
        (
            Violation("invented", "5"),
            "新增了原文没有的数字“5”",
            "adds a figure not in the answers: “5”",
        ),
        (
            Violation("we", "我们"),
            "“我们”出现次数多于原文",
            "uses “我们” more often than the answers",
        ),
        (
            Violation("language", ""),
            "中文部分汉字不足90%",
            "fewer than 90% of the letters are Chinese characters",
        ),
        (Violation("empty", ""), "改写内容为空", "the rewrite is empty"),
    ],
)
def test_each_violation_describes_itself_in_both_languages(
    violation: Violation, zh: str, en: str
) -> None:
    assert (violation.describe("zh"), violation.describe("en")) == (zh, en)
