"""The shape of a build: outputs as data with declared dependencies, variants as data (a
locale added by config), one rule for output paths, a build state taken and returned."""
from __future__ import annotations

import copy
import json
import pickle
import xml.etree.ElementTree as ET

import pytest

from conftest import parse_html, text_of
from policysite import outputs, pipeline
from policysite.errors import BuildError
from policysite.outputs import BODIES, Artifact, FileSpec

BODY = "## 一、总则\n\n随着服务的发展，我们着力保护您的信息。\n\n## 二、联系我们\n\n电话。\n"


class WordCount:
    """A small output that reads every document's body: a site-wide count of characters."""
    name = "wordcount"
    parallel = False
    made = 0

    def specs(self, ctx):
        return [FileSpec("wordcount.json", self.name)]

    def depends(self, spec):
        return BODIES

    def render(self, spec, ctx):
        WordCount.made += 1
        counts = {p.slug: len(ctx.content.view(p.shown, ctx.site.variants.default).html) for p in ctx.site.policies}
        return Artifact(spec.out_path, "application/json", json.dumps(counts, sort_keys=True).encode())


@pytest.fixture
def wordcount(monkeypatch):
    output = WordCount()
    monkeypatch.setattr(outputs, "REGISTRY", [*outputs.REGISTRY, output])
    WordCount.made = 0
    return output


def test_an_output_that_reads_every_body_is_rebuilt_after_a_body_edit(project, wordcount, monkeypatch):
    project.policy("a.md", BODY)
    project.policy("b.md", BODY, title="另一政策")
    project.build()
    first = json.loads((project.out / "wordcount.json").read_text())
    assert WordCount.made == 1 and set(first) == {"a", "b"}

    project.build()                                          # nothing changed: not made again
    assert WordCount.made == 1

    project.policy("a.md", BODY + "\n新增的一段很长的文字。\n")   # a body edit, metadata as it was
    result = project.build()
    assert WordCount.made == 2
    after = json.loads((project.out / "wordcount.json").read_text())
    assert after["a"] > first["a"] and after["b"] == first["b"]
    # the home pages depend on the listing only: a body edit leaves them alone
    assert result.rendered == 12                             # a's 12 pages: policy, version, history × 4 variants

    monkeypatch.setattr(outputs, "REGISTRY", [o for o in outputs.REGISTRY if o is not wordcount])
    project.build()
    assert not (project.out / "wordcount.json").exists()    # unregistered: removed from the site


def test_a_locale_added_by_config_and_a_strings_file(project):
    """Taiwan and Hong Kong Traditional side by side: one [[locales]] table and a strings file
    with the keys that differ (the rest come from zh-Hant)."""
    project.config("""
        [site]
        title = "测试站点"
        base_url = "https://example.gov.cn/p/"
        today = 2026-11-22

        [[locales]]
        tag = "zh-Hant-HK"
        prefix = "zh-hk"
        standard = "s2hk"
        strings = "zh-HK"
        speech = "zh-HK"
        """)
    strings = project.root / "templates" / "strings" / "zh-HK.toml"
    strings.parent.mkdir(parents=True)
    strings.write_text('lang_name = "繁體（香港）"\nlang_short = "港"\n', "utf-8")
    project.policy("a.md", BODY)
    project.build()

    hk, tw = project.page("zh-hk/a/"), project.page("zh-hant/a/")
    assert hk.getroot().get("lang") == "zh-Hant-HK" and tw.getroot().get("lang") == "zh-Hant"
    assert hk.getroot().get("data-speech-lang") == "zh-HK"
    body_hk, body_tw = text_of(hk.find(".//main")), text_of(tw.find(".//main"))
    assert "隨着" in body_hk and "着力" in body_hk            # Hong Kong characters
    assert "隨著" in body_tw and "著力" in body_tw            # Taiwan characters
    # hreflang in the head: every locale, the right addresses
    alts = {link.get("hreflang"): link.get("href") for link in hk.iter("link") if link.get("rel") == "alternate"
            and link.get("hreflang")}
    assert alts == {"zh-Hans": "https://example.gov.cn/p/a/", "zh-Hant": "https://example.gov.cn/p/zh-hant/a/",
                    "zh-Hant-HK": "https://example.gov.cn/p/zh-hk/a/", "x-default": "https://example.gov.cn/p/a/"}
    # the switch on the Taiwan page offers Hong Kong, named by its strings file, and the 长者版 exists
    switch = {a.get("hreflang"): (a.get("href"), text_of(a)) for a in tw.iter("a") if a.get("data-lang-choice")}
    href, label = switch["zh-Hant-HK"]
    assert href == "../../zh-hk/a/" and "繁體（香港）" in label and "港" in label     # full and short names
    assert parse_html(project.out / "zh-hk/elder/a/index.html").getroot().get("lang") == "zh-Hant-HK"
    # the interface text comes from zh-Hant where zh-HK has no key of its own
    assert text_of(hk.find(".//a[@class='skip-link']")) == text_of(tw.find(".//a[@class='skip-link']"))
    # sitemap: the Hong Kong page with its alternates; a feed of its own; the index lists it
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    urls = ET.parse(project.out / "sitemap.xml").getroot()
    entry = next(u for u in urls.findall("s:url", ns) if u.find("s:loc", ns).text.endswith("/zh-hk/a/"))
    assert {link.get("hreflang") for link in entry.findall("x:link", ns)} == {"zh-Hans", "zh-Hant", "zh-Hant-HK",
                                                                               "x-default"}
    feed = ET.parse(project.out / "zh-hk" / "feed.xml").getroot()
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-Hant-HK"
    index = json.loads((project.out / "policies.json").read_text("utf-8"))
    assert index["policies"][0]["pages"]["zh-Hant-HK"]["standard"] == "zh-hk/a/"


def build_error(project, config: str, policy: str, field: str):
    project.config(config)
    project.policy(policy, BODY)
    with pytest.raises(BuildError) as e:
        project.build()
    return next(d for d in e.value.errors if d.field == field)


def test_a_locale_with_an_unknown_standard_is_an_error(project):
    d = build_error(project, '[[locales]]\ntag = "zh-Hant-HK"\nprefix = "zh-hk"\nstandard = "s2x"\n', "a.md",
                    "locales")
    assert "s2hk" in d.message and d.line == 1


@pytest.mark.parametrize("version", ["index.html", "history"])
def test_a_version_whose_pages_land_on_another_page_is_an_error(project, version):
    """Never a traceback: the version that clashes is named with its file, line and field
    (caught by the frontmatter check where the name is a page of every policy, by the
    plan's path check otherwise)."""
    project.policy("a/1.0.md", BODY, version='"1.0"')
    project.policy("a/2.0.md", BODY, version=f'"{version}"', effective="2025-01-01")
    with pytest.raises(BuildError) as e:
        project.build()
    d = next(d for d in e.value.errors if d.field == "version")
    assert d.file.endswith("a/2.0.md") and d.line == 5 and version in d.message and d.fix


def test_a_slug_equal_to_a_locale_prefix_is_an_error(project):
    d = build_error(project, '[[locales]]\ntag = "zh-Hant-HK"\nprefix = "zh-hk"\nstandard = "s2hk"\n', "zh-hk.md",
                    "slug")
    assert d.file.endswith("zh-hk.md") and "another slug" in d.fix


def test_a_build_takes_a_state_and_returns_a_new_one_leaving_the_old_as_it_was(project):
    project.policy("a.md", BODY)
    request = pipeline.BuildRequest(project.root / "config.toml", project.out)
    _, first = pipeline.run(request)
    before = pickle.dumps(first)
    project.policy("a.md", BODY + "\n再加一段。\n")
    project.policy("b.md", BODY, title="新政策")
    result, second = pipeline.run(request, first)
    assert pickle.dumps(first) == before                    # not changed by the build that read it
    assert second is not first and second.manifest != first.manifest
    assert result.rendered > 0 and "b/index.html" in second.manifest


def test_a_source_does_no_io_behind_an_attribute(project):
    """A source read back from the build state holds no text; printing it reads nothing."""
    path = project.policy("a.md", BODY)
    _, state = pipeline.run(pipeline.BuildRequest(project.root / "config.toml", project.out))
    src = copy.deepcopy(pickle.loads(pickle.dumps(state)).sources[str(path)][3])
    assert src.body is None
    path.unlink()
    assert "a.md" in repr(src)                               # no read of the (gone) file
