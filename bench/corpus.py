"""Generate a realistic policy site of N policies for benchmarks.

Each policy is 5–40 KB of Chinese text (UTF-8) in numbered sections (一、 with
（一） subsections), with lists, a table, key clauses and a contact block, like
the privacy policies and statements real government sites publish. About a
third of the policies have two or three versions (one of them sometimes still
upcoming); a few are written in Traditional script, a few have an English
translation. The text is assembled from phrases written for this benchmark,
deterministically from `seed`, so two runs measure the same site.

    python bench/corpus.py /tmp/site 1000
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ISSUERS = ["青川省政务服务中心", "海澜市人民政府办公室", "海澜市大数据管理局", "青川省人力资源和社会保障厅",
           "海澜市公安局", "青川省医疗保障局", "海澜市住房公积金管理中心", "青川省税务服务中心"]
SUBJECTS = ["我们", "本平台", "运营单位", "受托的技术服务单位", "有关部门", "您", "监护人", "平台客服人员"]
VERBS = ["收集", "使用", "存储", "共享", "删除", "更正", "核验", "加密传输", "匿名化处理", "调取", "推送", "保存"]
OBJECTS = ["您的姓名和身份证件号码", "联系电话和通讯地址", "办件材料和办理结果", "设备型号和操作系统版本",
           "登录日志和操作记录", "电子证照目录", "人脸比对结果", "咨询投诉内容", "社会保险缴费记录",
           "不动产登记信息", "位置信息", "银行账户信息"]
PURPOSES = ["为办理您申请的政务服务事项", "为保障账户和系统安全", "为依法履行法定职责", "为向您反馈办理进度",
            "在取得您的单独同意后", "为改进服务流程", "按照档案管理的有关规定", "为核实您的身份"]
LIMITS = ["不会超出实现处理目的所必需的范围", "只在中华人民共和国境内存储", "不会用于商业营销",
          "将在处理目的实现后及时删除", "会采取加密和访问控制等安全措施", "不会向任何第三方提供",
          "保存期限届满后将删除或者匿名化处理", "法律、行政法规另有规定的除外"]
TITLES = ["我们收集的信息", "我们如何使用您的信息", "我们如何存储您的信息", "信息的共享、转让和公开披露",
          "我们如何保护您的信息", "您的权利", "未成年人个人信息保护", "Cookie和同类技术", "自动化决策",
          "人脸识别信息的处理", "第三方服务", "本政策的更新", "免责声明", "知识产权", "网站链接", "如何联系我们"]
SUBTITLES = ["适用范围", "处理目的", "处理方式", "存储地点", "存储期限", "安全措施", "查阅和复制", "更正和补充",
             "删除", "撤回同意", "注销账户", "响应时限", "例外情形", "委托处理", "投诉举报"]
POLICY_KINDS = ["隐私政策", "个人信息保护政策", "网站声明", "用户服务协议", "隐私保护声明", "数据安全管理办法"]
PLACES = ["青川通办", "海澜市人民政府网站", "海澜公积金", "青川医保服务平台", "海澜市民卡", "青川社保服务平台",
          "海澜政务服务网", "青川电子证照库"]
NUMS = "一二三四五六七八九十"


def sentence(r: random.Random) -> str:
    s = f"{r.choice(PURPOSES)}，{r.choice(SUBJECTS)}会{r.choice(VERBS)}{r.choice(OBJECTS)}，并{r.choice(LIMITS)}。"
    if r.random() < 0.08:
        s = f"++{s}++"
    return s


def paragraph(r: random.Random, n: int) -> str:
    return "".join(sentence(r) for _ in range(n))


def cn(n: int) -> str:
    tens, ones = divmod(n, 10)
    return (("" if tens < 2 else NUMS[tens - 1]) + "十" if tens else "") + (NUMS[ones - 1] if ones else "")


def body(r: random.Random, target_bytes: int) -> str:
    parts = [paragraph(r, 4), ""]
    section = 0
    while len("\n".join(parts).encode()) < target_bytes and section < 20:
        section += 1
        parts += [f"## {cn(section)}、{TITLES[(section - 1) % len(TITLES)]}", ""]
        for sub in range(1, r.randint(2, 5)):
            parts += [f"### （{cn(sub)}）{r.choice(SUBTITLES)}", "", paragraph(r, r.randint(3, 8)), ""]
            if r.random() < 0.4:
                parts += [f"{i}. {sentence(r)}" for i in range(1, r.randint(3, 6))] + [""]
            if r.random() < 0.15:
                parts += ["| 事项 | 收集的信息 | 用途 |", "|---|---|---|"]
                parts += [f"| {r.choice(PLACES)}事项{i} | {r.choice(OBJECTS)} | {r.choice(PURPOSES)} |"
                          for i in range(1, 5)] + [""]
    parts += [f"## {cn(section + 1)}、如何联系我们", "", paragraph(r, 2), "",
              "- 电子邮箱：privacy@example.gov.cn", "- 联系电话：0000-12345678", ""]
    return "\n".join(parts)


def edit(text: str, r: random.Random) -> str:
    """A later version: some sentences changed, one section added."""
    lines = text.split("\n")
    for _ in range(r.randint(3, 10)):
        i = r.randrange(len(lines))
        if lines[i] and not lines[i].startswith(("#", "|", "-")):
            lines[i] = paragraph(r, r.randint(2, 5))
    at = next((i for i, line in enumerate(lines) if line.startswith("## 三、")), len(lines) - 1)
    lines[at:at] = ["### （九）新增规定", "", paragraph(r, 4), ""]
    return "\n".join(lines)


def frontmatter(title, issuer, effective, version, lang=None, summary=None) -> str:
    lines = ["---", f"title: {title}", f"issuer: {issuer}", f"effective: {effective}", f'version: "{version}"']
    if lang:
        lines.append(f"lang: {lang}")
    if summary:
        lines.append(f"summary: {summary}")
    lines += ["contact:", "  email: privacy@example.gov.cn", '  phone: "0000-12345678"', "---", ""]
    return "\n".join(lines)


def generate(root: Path, n: int, seed: int = 1) -> Path:
    """Write config.toml and policies/ for n policies under root. Returns the config path."""
    import opencc
    to_hant = opencc.OpenCC("s2tw")
    r = random.Random(seed)
    policies = root / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        slug = f"policy-{i:05d}"
        title = f"{r.choice(PLACES)}{r.choice(POLICY_KINDS)}"
        issuer = r.choice(ISSUERS)
        text = body(r, r.randint(5_000, 40_000))
        summary = paragraph(r, 1).strip("+")
        kind = r.random()
        if kind < 0.33:
            folder = policies / slug
            folder.mkdir(exist_ok=True)
            count = r.choice([2, 2, 3])
            year = 2020
            for v in range(1, count + 1):
                effective = f"{year + 2 * v}-0{r.randint(1, 9)}-1{r.randint(0, 9)}"
                if v == count and r.random() < 0.3:
                    effective = "2027-03-01"            # still upcoming on the pinned build date
                (folder / f"{v}.0.md").write_text(frontmatter(title, issuer, effective, f"{v}.0", summary=summary)
                                                  + text, "utf-8")
                text = edit(text, r)
        elif kind < 0.38:
            fm = frontmatter(to_hant.convert(title), to_hant.convert(issuer), "2023-05-01", "1.0", "zh-Hant",
                             to_hant.convert(summary))
            (policies / f"{slug}.md").write_text(fm + to_hant.convert(text), "utf-8")
        else:
            (policies / f"{slug}.md").write_text(frontmatter(title, issuer, "2024-01-01", "1.0", summary=summary)
                                                 + text, "utf-8")
            if kind > 0.95:
                en = ("---\ntitle: Privacy policy\nissuer: Qingchuan Government Service Centre\nlang: en\n---\n"
                      + "\n\n".join(f"## {k}. Section {k}\n\nWe collect only what the service needs, keep it in "
                                    f"China and delete it when it is no longer needed." for k in range(1, 12)))
                (policies / f"{slug}.en.md").write_text(en, "utf-8")
    config = root / "config.toml"
    config.write_text(f"""[site]
title = "基准测试站点"
base_url = "https://bench.example.gov.cn/"
today = 2026-11-22
""", "utf-8")
    return config


def edit_one(root: Path, index: int = 0) -> Path:
    """The 'one-policy edit' of the benchmark: append a sentence to one policy."""
    files = sorted((root / "policies").rglob("*.md"))
    path = files[index % len(files)]
    with path.open("a", encoding="utf-8") as f:
        f.write("\n\n本政策由运营单位负责解释。\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/corpus.py FOLDER N")
    print(generate(Path(sys.argv[1]), int(sys.argv[2])))
