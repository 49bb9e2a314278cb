"""The batch layer: finding inputs, naming outputs, running per-file work on executors."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_work import copy_upper

from convcli.batch._executors import (
    InlineExecutor,
    ProcessExecutor,
    make_executor,
    threads_per_worker,
)
from convcli.batch._plan import (
    BatchItem,
    Summary,
    build_report,
    collect_inputs,
    plan_outputs,
    read_file_list,
    run_batch,
    sweep_temporaries,
)
from convcli.errors import ParameterError


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "in"
    (root / "sub" / "deeper").mkdir(parents=True)
    for rel in ["a.png", "b.jpg", "notes.txt", "sub/c.png", "sub/deeper/d.tif", "sub/e.PNG"]:
        (root / rel).write_text(rel)
    return root


def rels(found):
    return [str(rel) for _, rel in found]


def test_collect_flat_takes_image_extensions_only(tree):
    assert rels(collect_inputs([str(tree)])) == ["a.png", "b.jpg"]


def test_collect_recursive_keeps_tree(tree):
    assert rels(collect_inputs([str(tree)], recursive=True)) == [
        "a.png",
        "b.jpg",
        "sub/c.png",
        "sub/deeper/d.tif",
        "sub/e.PNG",
    ]


def test_collect_glob(tree):
    assert rels(collect_inputs([str(tree)], recursive=True, pattern="*.png")) == [
        "a.png",
        "sub/c.png",
    ]


def test_collect_named_file_taken_whatever_extension(tree):
    found = collect_inputs([str(tree / "notes.txt"), str(tree / "sub" / "c.png")])
    assert rels(found) == ["notes.txt", "c.png"]


def test_collect_missing_input_is_refused(tmp_path):
    with pytest.raises(ParameterError, match=r"input '.*nope.png' does not exist"):
        collect_inputs([str(tmp_path / "nope.png")])


def test_plan_outputs_suffix_and_extension(tree, tmp_path):
    items = plan_outputs(
        collect_inputs([str(tree)], recursive=True),
        tmp_path / "out",
        suffix="-blur",
        extension=".png",
    )
    targets = [Path(i.target).relative_to(tmp_path / "out").as_posix() for i in items]
    assert targets == [
        "a-blur.png",
        "b-blur.png",
        "sub/c-blur.png",
        "sub/deeper/d-blur.png",
        "sub/e-blur.png",
    ]


def test_plan_outputs_refuses_collisions(tmp_path):
    (tmp_path / "x.jpg").write_text("1")
    (tmp_path / "x.png").write_text("2")
    with pytest.raises(ParameterError, match=r"would both be written to .*x.png'; use --suffix"):
        plan_outputs(collect_inputs([str(tmp_path)]), tmp_path / "o", extension=".png")


def test_plan_outputs_refuses_overwriting_inputs(tmp_path):
    (tmp_path / "x.png").write_text("1")
    with pytest.raises(ParameterError, match=r"would overwrite its input"):
        plan_outputs(collect_inputs([str(tmp_path)]), tmp_path)


def test_read_file_list_lines_and_nul():
    assert read_file_list(b"a.png\n\nb c.png\n") == ["a.png", "b c.png"]
    assert read_file_list(b"a\nb.png\0c.png\0", null=True) == ["a\nb.png", "c.png"]


def make_items(tmp_path, names):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    items = []
    for name in names:
        (src / name).write_text(f"text of {name}")
        items.append(BatchItem(str(src / name), str(tmp_path / "dst" / "nested" / name)))
    return items


@pytest.mark.parametrize(
    "executor", [InlineExecutor(), ProcessExecutor(2)], ids=["inline", "processes"]
)
def test_run_batch_reports_each_file_and_goes_on(tmp_path, executor):
    items = make_items(tmp_path, ["1.png", "bad.png", "2.png", "boom.png", "3.png"])
    results = {Path(r.source).name: r for r in run_batch(items, copy_upper, executor)}
    assert {n: r.status for n, r in results.items()} == {
        "1.png": "done",
        "bad.png": "failed",
        "2.png": "done",
        "boom.png": "failed",
        "3.png": "done",
    }
    assert results["bad.png"].error.endswith("bad.png': not an image")
    assert results["boom.png"].error.startswith("unexpected RuntimeError on '")
    assert Path(items[2].target).read_text() == "TEXT OF 2.PNG"
    assert not Path(items[1].target).exists()


def test_worker_that_dies_fails_its_file_only(tmp_path):
    # A dying worker breaks the whole pool; the rest of the batch must still be done.
    items = make_items(tmp_path, ["1.png", "die.png", "2.png", "3.png", "4.png", "5.png"])
    results = {Path(r.source).name: r for r in run_batch(items, copy_upper, ProcessExecutor(2))}
    assert {n: r.status for n, r in results.items()} == {
        "1.png": "done",
        "die.png": "failed",
        "2.png": "done",
        "3.png": "done",
        "4.png": "done",
        "5.png": "done",
    }
    assert results["die.png"].error == (
        f"the worker process died while filtering "
        f"'{items[1].source}' (a crash or the out-of-memory "
        "killer)"
    )
    assert Path(items[5].target).read_text() == "TEXT OF 5.PNG"


def test_skip_existing_only_redoes_missing(tmp_path):
    items = make_items(tmp_path, ["1.png", "2.png"])
    Path(items[0].target).parent.mkdir(parents=True)
    Path(items[0].target).write_text("already there")
    results = list(run_batch(items, copy_upper, InlineExecutor(), skip_existing=True))
    assert [r.status for r in results] == ["skipped", "done"]
    assert Path(items[0].target).read_text() == "already there"


def test_fail_fast_stops_at_first_failure(tmp_path):
    items = make_items(tmp_path, ["1.png", "bad.png", "2.png"])
    results = list(run_batch(items, copy_upper, InlineExecutor(), fail_fast=True))
    assert [r.status for r in results] == ["done", "failed"]
    assert not Path(items[2].target).exists()


def test_sweep_temporaries_only_touches_these_targets_parts(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in [
        ".a.png.x1y2.part",
        ".b.png.x1y2.part",
        "a.png",
        ".a.png.keep",
        "sub/.c.d.png.zz.part",
    ]:
        (tmp_path / name).write_text("x")
    sweep_temporaries(
        [
            str(tmp_path / "a.png"),
            str(tmp_path / "sub" / "c.d.png"),
            str(tmp_path / "missing" / "e.png"),
        ]
    )
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        ".a.png.keep",
        ".b.png.x1y2.part",
        "a.png",
        "sub",
    ]


def test_summary_and_report():
    from convcli.batch._plan import ItemResult

    summary = Summary()
    results = [ItemResult("a", "A", "done", seconds=0.5), ItemResult("b", "B", "failed", "x")]
    for r in results:
        summary.add(r)
    summary.seconds = 1.25
    assert summary.line() == "1 done, 0 skipped, 1 failed in 1.2 s"
    report = build_report(results, summary, {"kernels": ["box"]})
    assert report["summary"] == {"done": 1, "skipped": 0, "failed": 1, "seconds": 1.25}
    assert report["files"][1] == {
        "source": "b",
        "target": "B",
        "status": "failed",
        "error": "x",
        "seconds": 0.0,
    }


def test_threads_per_worker_keeps_total_at_cores(monkeypatch):
    monkeypatch.setattr("convcli.parallel.available_cores", lambda: 8)
    assert [threads_per_worker(j) for j in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    assert isinstance(make_executor(1), InlineExecutor)
    assert make_executor(3).jobs == 3


def test_fail_fast_on_the_process_pool_stops_workers_cleanly(tmp_path):
    items = make_items(tmp_path, ["bad.png"] + [f"{i}.png" for i in range(12)])
    results = list(run_batch(items, copy_upper, ProcessExecutor(2), fail_fast=True))
    assert results[-1].status == "failed" and results[-1].source == items[0].source
    assert len(results) < len(items)  # stopped: the rest never started
    assert not list((tmp_path / "dst" / "nested").glob(".*.part"))
