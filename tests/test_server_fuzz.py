"""schemathesis against /openapi.json, in-process over ASGI, on a real index: every generated request (valid
and invalid) must get a documented status, a documented content type and a body matching the schema; never
a 500. Bounded: 30 examples per operation (20 valid, 10 invalid), derandomized.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402

import pagelens  # noqa: E402
from conftest import REPORT  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from pagelens.server.app import create_app  # noqa: E402

pytestmark = pytest.mark.e2e  # fuzzes the whole HTTP API (hundreds of requests)

TOKEN = "fuzz-token"
MAX_EXAMPLES = 30
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(samples / REPORT, folder / REPORT)
    index = pagelens.open(folder / "index", embedder=FakeEmbedder())
    index.add([folder / REPORT], progress=False)
    app = create_app(index, token=TOKEN, max_upload_bytes=2_000_000)
    STATUSES.clear()

    async def recording(scope: Any, receive: Any, send: Any) -> None:  # which statuses the fuzzing reached
        async def record(message: Any) -> None:
            if message["type"] == "http.response.start" and scope["path"] != "/openapi.json":
                STATUSES[message["status"]] += 1
            await send(message)

        await app(scope, receive, record)

    # The token goes through schemathesis' own auth config, so it knows which requests lack it on purpose.
    config = SchemathesisConfig.from_str(f'[auth.openapi.HTTPBearer]\nbearer = "{TOKEN}"\n')
    schema = schemathesis.openapi.from_asgi("/openapi.json", recording, config=config)
    schema.real_page_id = str(index.search("revenue", k=1)[0].page_id)
    yield schema
    index.close()


# schemathesis' own pytest plugin (schema.parametrize) does not run under pytest 9, so each operation's
# strategy is driven by hypothesis here; the checks are schemathesis' defaults (call_and_validate).
POSITIVE_EXAMPLES = 20
NEGATIVE_EXAMPLES = MAX_EXAMPLES - POSITIVE_EXAMPLES


# A file field's bytes are "any binary" in the schema, but not every byte string is an image or a PDF: the
# server rightly answers 422 (naming the file and reason), which the positive-data-acceptance check would
# count as rejecting valid data. Every other check, incl. "no 500", still applies to these operations.
BINARY_BODY = {"POST /api/search/image", "POST /api/documents"}


# The filters' meaning is more than their schema: `pages=4-2` matches the N or A-B pattern but is backwards, and a
# `where` on a key no page has (any generated key) cannot match. The API answers those with a 400 whose message
# starts with the parameter's name, as documented. For the operations that take filters, the positive data
# acceptance check accepts exactly that 400, and nothing else it would not accept.
FILTERED = {
    "GET /api/search",
    "POST /api/search_many",
    "POST /api/search/image",
    "GET /api/similar/{page_id}",
}
FILTER_MESSAGE = ("pages: ", "where: ")


def positive_data_acceptance_of_filters(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code == 400 and str(response.json().get("error", "")).startswith(FILTER_MESSAGE):
        return None
    return positive_data_acceptance(ctx, response, case)


# Random page ids almost never exist: half of the valid examples of these use a real one, to fuzz rendering.
PAGE_OPERATIONS = {
    "GET /api/pages/{page_id}/image",
    "GET /api/pages/{page_id}/thumbnail",
    "GET /api/pages/{page_id}/overlay",
    "GET /api/similar/{page_id}",
}


def _run(strategy: Any, examples: int, excluded: list[Any], added: list[Any]) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same examples every run: a failure here is reproducible, not flaky
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        case.call_and_validate(excluded_checks=excluded, additional_checks=added)

    check()


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered in divide:RuntimeWarning"
)  # FakeEmbedder, black images
def test_api_conforms_to_its_schema(api_schema: Any) -> None:
    failures: dict[str, str] = {}
    labels = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        excluded = [positive_data_acceptance] if operation.label in BINARY_BODY | FILTERED else []
        added = (
            [positive_data_acceptance_of_filters]
            if operation.label in FILTERED and operation.label not in BINARY_BODY
            else []
        )
        strategies = [
            ("positive", operation.as_strategy(generation_mode=GenerationMode.POSITIVE), POSITIVE_EXAMPLES),
            ("negative", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), NEGATIVE_EXAMPLES),
        ]
        if operation.label in PAGE_OPERATIONS:
            real = operation.as_strategy(path_parameters={"page_id": api_schema.real_page_id})
            strategies[0] = ("positive", strategies[0][1], POSITIVE_EXAMPLES // 2)
            strategies.append(("real page", real, POSITIVE_EXAMPLES // 2))
        for name, strategy, examples in strategies:
            try:
                _run(strategy, examples, excluded, added)
            except Unsatisfiable:
                assert name == "negative"  # no parameters to get wrong (e.g. GET /api/health)
            except BaseException as exc:  # noqa: BLE001 - schemathesis raises exception groups; collect them all
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                failures[f"{operation.label} ({name})"] = f"{exc.__class__.__name__}: {exc}"[:3000]
    assert len(labels) >= 12, labels
    assert STATUSES[200] >= 100, STATUSES  # the token was used, and real pages were reached
    assert 500 not in STATUSES, STATUSES
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
