"""The search index (outputs/search.py): a Pagefind bundle under search/pagefind/, made by the real
Pagefind binary from the real rendered and converted documents, read back from its files."""
from __future__ import annotations

import gzip
import json
from urllib.parse import urljoin

import pytest

from conftest import file_ids, text_of, tree
from policysite.outputs import search

pytestmark = pytest.mark.skipif(search.executable() is None, reason="pagefind[extended] is not installed")

BODY = ("## 一、总则\n\n我们使用人脸识别核验您的身份。\n\n"
        "## 二、信息保存\n\n您的信息保存在境内的服务器上。\n")


def fragments(out) -> list[dict]:
    """Every record of the bundle: Pagefind's fragment files are gzipped JSON after a magic word."""
    found = []
    for path in sorted((out / "search/pagefind/fragment").glob("*.pf_fragment")):
        raw = gzip.decompress(path.read_bytes())
        assert raw.startswith(b"pagefind_dcd")
        record = json.loads(raw[len(b"pagefind_dcd"):])
        record["file"] = path.name
        record["text"] = record["content"].replace("\u200b", "")   # Pagefind marks word breaks so
        found.append(record)
    return found


def by_lang(out, lang_prefix: str) -> list[dict]:
    return [r for r in fragments(out) if r["file"].startswith(lang_prefix + "_")]


def two_versions(project, second_effective="2027-01-01"):
    project.policy("svc/1.0.md", BODY, version='"1.0"', effective="2024-01-01", slug="svc")
    project.policy("svc/2.0.md", BODY.replace("境内", "本省"), version='"2.0"', effective=second_effective,
                   slug="svc")


def test_the_bundle_and_a_search_page_in_every_variant(project):
    project.policy("a.md", BODY)
    result = project.build()
    out = project.out
    entry = json.loads((out / "search/pagefind/pagefind-entry.json").read_text("utf-8"))
    assert set(entry["languages"]) == {"zh"}, "both Chinese scripts in one index"
    for lang, info in entry["languages"].items():
        assert (out / f"search/pagefind/pagefind.{info['hash']}.pf_meta").is_file()
        assert info["page_count"] == 1
    assert (out / "search/pagefind/pagefind.js").is_file() and (out / "search/pagefind/pagefind-worker.js").is_file()
    assert not list((out / "search/pagefind").glob("pagefind-ui*")), "Pagefind's own UI is not published"
    for url in ("search/", "elder/search/", "zh-hant/search/", "zh-hant/elder/search/"):
        doc = project.page(url)
        form = doc.find(".//{*}form[@role='search']")
        assert form is not None and form.get("method") == "get" and form.get("action") == "./"
        assert form.find(".//{*}input[@name='q']") is not None
        csp = doc.find(".//{*}meta[@http-equiv='Content-Security-Policy']").get("content")
        assert "'wasm-unsafe-eval'" in csp and "form-action 'self'" in csp
        # without JavaScript: every policy, listed on the page itself, with the form explained
        links = [a.get("href") for a in doc.iter("a")]
        assert "../a/" in links
    # every other page: the header links to its variant's search page; the CSP as strict as before
    page = project.page("zh-hant/elder/a/")
    link = [a for a in page.iter("a") if a.get("class") == "search-link"]
    assert len(link) == 1 and link[0].get("href") == "../search/" and text_of(link[0]) == "搜尋"
    csp = page.find(".//{*}meta[@http-equiv='Content-Security-Policy']").get("content")
    assert "wasm" not in csp and "form-action 'none'" in csp
    # the bundle's files are the build's own: in its manifest, like every other file
    assert {p for p in tree(out) if p.startswith("search/pagefind/")} <= set(result.pages)


def test_one_record_holds_both_scripts_and_names_its_page_in_each(project):
    project.policy("a.md", BODY + "\n## 三、日期\n\n2024年1月1日起施行。\n", title="人脸识别规则", issuer="测试市数据局")
    project.build()
    records = by_lang(project.out, "zh")
    assert len(records) == 1, "one record for both Chinese locales"
    r = records[0]
    m = r["meta"]
    assert m["title"] == "人脸识别规则" and m["title_zh-hant"] == "人臉識別規則"
    assert m["issuer"] == "测试市数据局" and m["issuer_zh-hant"] == "測試市數據局"
    assert m["path"] == "a/" and "path_zh-hant" not in m, "the same path: said once"
    assert m["state"] == "现行有效" and m["state_zh-hant"] == "現行有效" and m["state_key"] == "current"
    assert m["locales"] == "zh-hans zh-hant" and m["scripts"] == "zh-Hans zh-Hant"
    assert "absent" not in m, "every locale's page has every section"
    assert r["filters"] == {"issuer": ["zh-hans:测试市数据局", "zh-hant:測試市數據局"],
                            "state": ["zh-hans:现行有效", "zh-hant:現行有效"]}, "each script's, after its key"
    # both scripts are searchable: OpenCC's text and the original, each once
    assert "人臉識別" in r["text"] and "人脸识别" in r["text"]
    assert r["text"].count("境內") == 1 and r["text"].count("境内") == 1
    # sections: anchors of the page's own headings, one copy in each script, keyed by locale
    anchors = [(a["element"], a["id"], a["text"]) for a in r["anchors"]]
    assert ("h2", "s1~zh-hans", "一、总则") in anchors and ("h2", "s1~zh-hant", "一、總則") in anchors
    assert ("h1", "~zh-hans", "人脸识别规则") in anchors and ("h1", "~zh-hant", "人臉識別規則") in anchors, \
        "the top of the page in each script, under a heading of its own"
    assert ("h2", "s3~zh-hans", "三、日期") in anchors and not [a for a in anchors if a[1] == "s3~zh-hant"], \
        "a section the same in both scripts is held once"


def test_a_section_the_other_script_cuts_differently_is_kept(project):
    """A Traditional text written by hand may have sections the Simplified one lacks: their text is
    in the record too, under their own ids."""
    project.policy("a.md", BODY, title="数据规则")
    project.write("a.zh-Hant.md", """
        ---
        title: 數據規則
        issuer: 測試市人民政府
        effective: 2024-01-01
        version: "1.0"
        lang: zh-Hant
        slug: a
        ---
        ## 一、總則 {#general}

        我們使用人臉識別核驗您的身分。

        ## 二、資料存放 {#storage}

        您的資料存放於境內伺服器。

        ## 三、問與答 {#q&a}

        常見問題。
        """)
    project.build()
    r = by_lang(project.out, "zh")[0]
    ids = [a["id"] for a in r["anchors"]]
    assert "general~zh-hant" in ids and "storage~zh-hant" in ids and "s1~zh-hans" in ids
    assert "伺服器" in r["text"] and "服务器" in r["text"]
    # each page's missing sections named, for search.js to link no reader to an anchor their page lacks
    # (an id percent-encoded as the page's DOM has it: q&a, not q&amp;a)
    assert 'id="q&amp;a"' in (project.out / "zh-hant/a/index.html").read_text("utf-8")
    assert sorted(r["meta"]["absent"].split()) == ["general~zh-hans", "q%26a~zh-hans", "s1~zh-hant", "s2~zh-hant",
                                                   "storage~zh-hans"], r["meta"]


def test_current_and_upcoming_are_indexed_superseded_only_when_asked(project):
    project.policy("svc/0.9.md", BODY.replace("境内", "海外"), version='"0.9"', effective="2020-01-01", slug="svc")
    two_versions(project)
    project.build()
    states = sorted((r["meta"]["version"], r["meta"]["state_key"], r["meta"]["path"])
                    for r in by_lang(project.out, "zh"))
    assert states == [("1.0", "current", "svc/"), ("2.0", "upcoming", "svc/2.0/")]
    # several states: the state filter offers them
    filters = {tuple(sorted(r["filters"]["state"])) for r in by_lang(project.out, "zh")}
    assert filters == {("zh-hans:现行有效", "zh-hant:現行有效"), ("zh-hans:尚未生效", "zh-hant:尚未生效")}

    project.config("""
        [site]
        title = "测试站点"
        today = 2026-11-22
        [search]
        versions = "all"
        """)
    project.build()
    states = sorted((r["meta"]["version"], r["meta"]["state_key"]) for r in by_lang(project.out, "zh"))
    assert states == [("0.9", "superseded"), ("1.0", "current"), ("2.0", "upcoming")]


def test_a_wrong_versions_value_is_named_with_its_line(project):
    project.policy("a.md", BODY)
    project.config("""
        [site]
        title = "测试站点"
        [search]
        versions = "every"
        """)
    proc = project.run("--quiet")
    assert proc.returncode != 0
    assert "config.toml:5" in proc.stderr and "search.versions" in proc.stderr and '"all"' in proc.stderr


def test_no_change_build_leaves_the_bundle_untouched_and_a_body_edit_rebuilds_it(project):
    project.policy("a.md", BODY)
    project.policy("b.md", BODY, title="第二个政策")
    project.build()
    before_ids = {k: v for k, v in file_ids(project.out).items() if k.startswith("search/pagefind/")}
    before = tree(project.out)

    project.build()                                             # nothing changed
    after_ids = {k: v for k, v in file_ids(project.out).items() if k.startswith("search/pagefind/")}
    assert after_ids == before_ids, "a no-change build rewrote the search index"

    project.policy("b.md", BODY + "\n## 三、新增条款\n\n我们新增了无障碍浏览服务。\n", title="第二个政策")
    project.build()
    now = tree(project.out)
    assert now["search/pagefind/pagefind-entry.json"] != before["search/pagefind/pagefind-entry.json"]
    assert any("无障碍浏览" in r["text"] for r in by_lang(project.out, "zh"))
    # old index files are gone: the folder holds exactly what the entry names and the code
    stale = [p for p in before if p.startswith("search/pagefind/") and p not in now]
    assert stale and not any((project.out / p).exists() for p in stale)
    # and what is published is what a fresh build makes, byte for byte
    fresh = project.root / "fresh"
    from policysite.pipeline import build
    build(project.root / "config.toml", fresh, use_cache=False)
    assert {k: v for k, v in tree(fresh).items() if k != ".policysite"} == \
           {k: v for k, v in now.items() if k != ".policysite"}


def test_the_bundle_is_byte_identical_from_build_to_build(project):
    # several issuers and states: Pagefind writes those filters in hash-map order
    for i, issuer in enumerate(["甲市人民政府", "乙市数据局", "丙省政务服务中心", "丁县人民政府"]):
        project.policy(f"p{i}.md", BODY, title=f"政策{i}", issuer=issuer)
    two_versions(project)
    from policysite.pipeline import build
    trees = []
    for n in range(4):
        out = project.root / f"out{n}"
        build(project.root / "config.toml", out, use_cache=False)
        trees.append({k: v for k, v in tree(out).items() if k.startswith("search/")})
    assert all(t == trees[0] for t in trees[1:])


def test_the_canonical_form_keeps_every_value(project):
    for i, issuer in enumerate(["甲市人民政府", "乙市数据局", "丙省政务服务中心"]):
        project.policy(f"p{i}.md", BODY, title=f"政策{i}", issuer=issuer)
    project.build()
    entry = json.loads((project.out / "search/pagefind/pagefind-entry.json").read_text("utf-8"))
    meta = search._read((project.out / f"search/pagefind/pagefind.{entry['languages']['zh']['hash']}.pf_meta")
                        .read_bytes())
    names = [name for name, _ in meta[3]]
    assert names == sorted(names) == ["issuer", "state"]
    issuer_file = dict(meta[3])["issuer"]
    body = search._read((project.out / f"search/pagefind/filter/{issuer_file}.pf_filter").read_bytes())
    values = [v for v, _ in body[1]]
    assert values == sorted(values) == sorted(f"{key}:{name}" for key, names in
                                              (("zh-hans", ["甲市人民政府", "乙市数据局", "丙省政务服务中心"]),
                                               ("zh-hant", ["甲市人民政府", "乙市數據局", "丙省政務服務中心"]))
                                              for name in names)


def test_a_site_with_nothing_published_yet_still_builds(project):
    project.policy("a.md", BODY, status="draft")
    proc = project.run("--quiet")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads((project.out / "search/pagefind/pagefind-entry.json").read_text("utf-8"))
    assert entry["languages"] == {}
    assert (project.out / "search/index.html").is_file()


# --- shards: a large index is cut by policy, and an edit makes only its policy's shard again ---

def shard_records(out) -> dict[str, list[dict]]:
    """Each shard folder's records (as fragments() reads them), by folder."""
    found = {}
    for entry in sorted((out / "search/pagefind").glob("*/pagefind-entry.json")):
        folder = entry.parent
        records = []
        for path in sorted((folder / "fragment").glob("*.pf_fragment")):
            raw = gzip.decompress(path.read_bytes())
            records.append(json.loads(raw[len(b"pagefind_dcd"):]))
        found[folder.name] = records
    return found


def search_form(project, url="search/"):
    return project.page(url).find(".//{*}form[@role='search']")


def test_a_large_index_is_cut_into_shards_each_made_again_only_for_its_own_policies(project, monkeypatch):
    monkeypatch.setattr(search, "POLICIES_PER_SHARD", 1)
    slugs = [f"policy-{c}" for c in "abcdef"]
    for i, slug in enumerate(slugs):
        project.policy(f"{slug}.md", BODY.replace("人脸识别", f"第{i}号识别"), title=f"政策{i}", slug=slug)
    project.build()
    out = project.out
    count = search.shard_count(len(slugs))
    assert count == 8
    held = shard_records(out)
    assert not (out / "search/pagefind/pagefind-entry.json").exists(), "no bundle at the top once cut"
    # each policy's records (both scripts) are in the shard its slug hashes to, and only there
    expected = {}
    for slug in slugs:
        expected.setdefault(f"{search.shard_of(slug, count):02d}", set()).add(slug)
    assert set(held) == set(expected), "one folder per shard that holds a policy, none empty"
    for folder, records in held.items():
        urls = {r["meta"]["path"].split("/")[0] for r in records}
        assert urls == expected[folder], folder
        assert {r["meta"]["title"] for r in records} >= {f"政策{slugs.index(s)}" for s in expected[folder]}
        assert (out / "search/pagefind" / folder / "pagefind.js").is_file()
    # the search page reads the first shard holding its language and merges the others
    for url in ("search/", "zh-hant/elder/search/"):
        form = search_form(project, url)
        folders = [form.get("data-pagefind")] + form.get("data-pagefind-merge").split()
        assert [urljoin("/" + url, f) for f in folders] == [f"/search/pagefind/{f}/" for f in sorted(held)]

    # a body edit: no shard is written again; the edited policy's records go into the recent
    # bundle, which hides its records in its shard, and the search pages merge that bundle (they
    # read the list of recent bundles, search.RECENT_LIST: the pages themselves stay as they are)
    before_ids, before = file_ids(out), tree(out)
    edited = slugs[2]
    mine = f"{search.shard_of(edited, count):02d}"
    assert {r["filters"]["policy"][0] for r in held[mine]} == expected[mine], "shard records name their policy"
    project.policy(f"{edited}.md", BODY + "\n## 三、新增条款\n\n我们新增了无障碍浏览服务。\n", title="政策2", slug=edited)
    project.build()
    now_ids, now = file_ids(out), tree(out)
    index_files = [p for p in before if p.startswith("search/pagefind/") and p != search.RECENT_LIST]
    assert not [p for p in index_files if now_ids.get(p) != before_ids[p]], "the shards are left as published"
    assert recent_hides(out) == [edited]
    recent = shard_records(out)[search.recent_folder(edited).split("/")[-2]]
    assert {r["meta"]["path"].split("/")[0] for r in recent} == {edited}
    assert all("policy" not in r["filters"] for r in recent), "the recent bundle's records are never hidden"
    assert any("无障碍浏览" in r["content"].replace("\u200b", "") for r in recent)
    listed = json.loads(now[search.RECENT_LIST])["bundles"]
    assert [urljoin("/" + search.RECENT_LIST, b["folder"]) for b in listed] == ["/" + search.recent_folder(edited)]
    assert json.loads(before[search.RECENT_LIST]) == {"bundles": []}
    for url in ("search/", "zh-hant/elder/search/"):
        form = search_form(project, url)
        assert urljoin("/" + url, form.get("data-pagefind-recent")) == "/" + search.RECENT_LIST
        assert form.get("data-pagefind-tag") in listed[0]["tags"]
        assert search.recent_folder(edited) not in form.get("data-pagefind-merge")
    assert before["search/index.html"] == now["search/index.html"], "the search pages do not name the bundles"
    assert visible_records(out) == visible_records(fresh_build(project, "fresh1"))

    # another policy edited: a bundle of its own, the first one left as it was
    other = next(s for s in slugs if search.shard_of(s, count) != search.shard_of(edited, count))
    before_ids = file_ids(out)
    project.policy(f"{other}.md", BODY + "\n## 三、新增条款\n\n我们新增了适老化服务。\n", title="政策x", slug=other)
    project.build()
    assert sorted(recent_hides(out)) == sorted([edited, other])
    first = search.recent_folder(edited)
    assert all(file_ids(out)[p] == before_ids[p] for p in before_ids if p.startswith(first))
    assert visible_records(out) == visible_records(fresh_build(project, "fresh2"))
    # beyond MAX_RECENT bundles, the shard holding most of them is made again, and its policies
    # leave the recent bundles
    kept = search.MAX_RECENT
    monkeypatch.setattr(search, "MAX_RECENT", 1)
    project.policy(f"{other}.md", BODY + "\n## 三、新增条款\n\n我们新增了适老化改造服务。\n", title="政策x", slug=other)
    project.build()
    assert len(recent_hides(out)) == 1
    assert visible_records(out) == visible_records(fresh_build(project, "fresh2b"))
    monkeypatch.setattr(search, "MAX_RECENT", kept)

    # a policy alone in its shard removed: its folder goes, and the search pages stop naming it
    alone = next(f for f, s in expected.items() if len(s) == 1 and edited not in s and other not in s)
    (project.root / "policies" / f"{next(iter(expected[alone]))}.md").unlink()
    project.build()
    assert not (out / "search/pagefind" / alone).exists()
    form = search_form(project)
    assert f"pagefind/{alone}/" not in (form.get("data-pagefind-merge") or "") + form.get("data-pagefind")
    # and what is published answers as what a fresh build makes; outside the index, byte for byte
    fresh = fresh_build(project, "fresh3")
    assert visible_records(out) == visible_records(fresh)
    outside = lambda t: {k: v for k, v in t.items()          # the index, and the search pages naming it
                         if k != ".policysite" and not k.startswith("search/") and not k.endswith("search/index.html")}
    assert outside(tree(fresh)) == outside(tree(out))
    # and --no-cache publishes the shards alone, as a fresh build does
    from policysite.pipeline import build
    build(project.root / "config.toml", out, use_cache=False)          # (in this process: the shard size set above)
    assert not list((out / "search/pagefind").glob("recent-*"))
    assert {k: v for k, v in tree(fresh).items() if k != ".policysite"} == \
           {k: v for k, v in tree(out).items() if k != ".policysite"}


def fresh_build(project, name):
    from policysite.pipeline import build
    fresh = project.root / name
    build(project.root / "config.toml", fresh, use_cache=False)
    return fresh


def recent_hides(out) -> list:
    """The policies the recent bundles hide in the shards, in the bundles' order."""
    return [slug for entry in sorted((out / "search/pagefind").glob("recent-*/pagefind-entry.json"))
            for slug in json.loads(entry.read_text("utf-8"))["hides"]]


def visible_records(out) -> list:
    """Every record a search can find: the shards' (less those the recent bundle hides) and the
    recent bundle's, as (language, page, title, text)."""
    hides = set(recent_hides(out))
    found = []
    for entry in sorted((out / "search/pagefind").glob("*/pagefind-entry.json")):
        folder = entry.parent
        for path in sorted((folder / "fragment").glob("*.pf_fragment")):
            r = json.loads(gzip.decompress(path.read_bytes())[len(b"pagefind_dcd"):])
            if not folder.name.startswith("recent-") and r["filters"].get("policy", [None])[0] in hides:
                continue
            found.append((r["meta"]["path"], r["meta"]["title"], r["meta"]["version"], r["content"]))
    return sorted(found)


def test_shard_count_grows_by_doubling_and_stops():
    per = search.POLICIES_PER_SHARD
    assert [search.shard_count(n) for n in (0, 1, per, per + 1, 3 * per, 4 * per + 1)] == [1, 1, 1, 2, 4, 8]
    assert search.shard_count(10 ** 6) == search.MAX_SHARDS


def test_a_locale_only_some_shards_hold_reads_only_those(project, monkeypatch):
    monkeypatch.setattr(search, "POLICIES_PER_SHARD", 1)
    project.config("""
        [site]
        title = "测试站点"
        base_url = "https://example.gov.cn/p/"
        today = 2026-11-22
        """)
    for c in "abcde":
        project.policy(f"p-{c}.md", BODY, title=f"政策{c}", slug=f"p-{c}")
    project.write("p-c.en.md", """
        ---
        title: Privacy policy C
        issuer: Test City Government
        effective: 2024-01-01
        version: "1.0"
        lang: en
        slug: p-c
        ---
        ## General

        We verify who you are by face recognition.
        """)
    project.build()
    count = search.shard_count(5)
    en_shard = f"{search.shard_of('p-c', count):02d}"
    form = search_form(project, "en/search/")
    assert urljoin("/en/search/", form.get("data-pagefind")) == f"/search/pagefind/{en_shard}/"
    assert form.get("data-pagefind-merge") is None
    zh = search_form(project)
    assert len(zh.get("data-pagefind-merge").split()) >= 1


def test_an_index_begun_for_a_build_that_fails_is_let_go(project, monkeypatch, tmp_path):
    """Pagefind starts on a shard as soon as its records are written, while the pages are made;
    a build that then fails (a link to no policy, found after the pages) leaves neither its
    records nor Pagefind's folder behind, and publishes nothing."""
    import tempfile

    from policysite.errors import BuildError
    from policysite.outputs import wait_for_cleanup
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    begun = []
    real = search.Search.begin
    monkeypatch.setattr(search.Search, "begin", lambda self, spec, ctx: (begun.append(spec), real(self, spec, ctx)))
    project.policy("a.md", BODY, title="政策一")
    project.policy("b.md", "## 一、总则\n\n见[另一政策](policy:no-such-policy)。\n", title="政策二")
    with pytest.raises(BuildError) as e:
        project.build()
    assert "no-such-policy" in str(e.value)
    assert begun, "the index was begun before the pages were checked"
    wait_for_cleanup()
    left = lambda: [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith(("policysite-search-",
                                                                                       "policysite-pieces-"))]
    assert not left()
    assert not project.out.exists()
    # and the same site, mended, builds its index from the run begun for it
    project.policy("b.md", BODY, title="政策二")
    project.build()
    assert begun[-1].out_path == search.ENTRY
    assert json.loads((project.out / search.ENTRY).read_text("utf-8"))["languages"]
    assert not left()


def test_a_command_line_build_that_fails_after_its_index_was_begun_leaves_nothing_behind(project, tmp_path):
    """The command line ends its process at once: the Pagefind run begun for the index is stopped
    and its folders removed before it does."""
    import os
    import subprocess
    import sys

    from conftest import ROOT
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    project.policy("a.md", BODY, title="政策一")
    project.policy("b.md", "## 一、总则\n\n见[另一政策](policy:no-such-policy)。\n", title="政策二")
    proc = subprocess.run([sys.executable, str(ROOT / "build.py"), "--quiet"], cwd=project.root, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "TMPDIR": str(tmp)})
    assert proc.returncode == 1 and "no-such-policy" in proc.stderr, proc.stderr
    assert not [p.name for p in tmp.iterdir() if p.name.startswith(("policysite-search-", "policysite-pieces-"))]
    import time
    time.sleep(0.1)                                   # a Pagefind left running would write its bundle now
    assert not [p.name for p in tmp.iterdir() if p.name.startswith(("policysite-search-", "policysite-pieces-"))]


def six_cut(project, monkeypatch):
    monkeypatch.setattr(search, "POLICIES_PER_SHARD", 1)
    slugs = [f"policy-{c}" for c in "abcdef"]
    for i, slug in enumerate(slugs):
        project.policy(f"{slug}.md", BODY.replace("人脸识别", f"第{i}号识别"), title=f"政策{i}", slug=slug)
    return slugs


def test_the_preview_servers_pages_first_build_after_a_recently_edited_policy_is_removed(project, monkeypatch):
    """serve builds the pages first and the index after; the pages name the recent bundles as
    published, but not one whose policy is gone, and the later build removes it."""
    from policysite.pipeline import Builder
    slugs = six_cut(project, monkeypatch)
    builder = Builder(project.root / "config.toml", project.out)
    builder.build()
    edited = slugs[1]
    project.policy(f"{edited}.md", BODY + "\n## 三、新增条款\n\n我们新增了无障碍浏览服务。\n", title="政策1", slug=edited)
    builder.build(defer=("search",))
    assert not recent_hides(project.out), "the pages first: the index as published"
    builder.build()
    assert recent_hides(project.out) == [edited]
    (project.root / "policies" / f"{edited}.md").unlink()
    builder.build(defer=("search",))
    form = search_form(project)
    assert search.recent_folder(edited) not in (form.get("data-pagefind-merge") or "")
    builder.build()
    assert not recent_hides(project.out)
    assert visible_records(project.out) == visible_records(fresh_build(project, "fresh"))


def test_a_policy_added_in_a_language_its_shard_lacks_makes_the_shard_again(project, monkeypatch):
    """A new policy goes into the recent bundles only if its shard already holds its languages:
    otherwise that language's search pages would read a shard without its index."""
    slugs = six_cut(project, monkeypatch)
    project.build()
    count = search.shard_count(len(slugs) + 1)
    assert count == search.shard_count(len(slugs))
    alone = {f"{search.shard_of(s, count):02d}" for s in slugs}
    new = next(f"new-{n}" for n in range(1000) if f"{search.shard_of(f'new-{n}', count):02d}" in alone)
    folder = project.out / "search/pagefind" / f"{search.shard_of(new, count):02d}"
    assert "en" not in json.loads((folder / "pagefind-entry.json").read_text("utf-8"))["languages"]
    project.policy(f"{new}.md", BODY, title="新政策", slug=new)
    project.write(f"{new}.en.md", f"""
        ---
        title: New policy
        issuer: Test City Government
        effective: 2024-01-01
        version: "1.0"
        lang: en
        slug: {new}
        ---
        ## General

        We verify who you are by face recognition.
        """)
    project.build()
    assert new not in recent_hides(project.out)
    assert "en" in json.loads((folder / "pagefind-entry.json").read_text("utf-8"))["languages"]
    form = search_form(project, "en/search/")
    for f in [form.get("data-pagefind")] + (form.get("data-pagefind-merge") or "").split():
        entry = project.out / urljoin("/en/search/", f).lstrip("/") / "pagefind-entry.json"
        assert "en" in json.loads(entry.read_text("utf-8"))["languages"], f
    assert visible_records(project.out) == visible_records(fresh_build(project, "fresh"))
