"""Drives hearth's server (over the scripted FakeEngine, tests/server/fake_server_main.cpp)
with the real openai Python SDK: what the SDK parses and accumulates is the independent check
of the response and chunk schemas. Run by CTest (server_openai_sdk_test) with
HEARTH_FAKE_SERVER set to the hearth_fake_server binary.
"""
import json
import os
import subprocess
import tempfile
import urllib.request

import openai
import pytest

SERVER = os.environ.get("HEARTH_FAKE_SERVER")
pytestmark = pytest.mark.skipif(not SERVER, reason="HEARTH_FAKE_SERVER is not set")

TOOL_SCRIPT = [
    "think:The user wants ",
    "think:the weather.",
    "Checking.",
    "call:get_weather",
    'args:{"city": ',
    'args:"Oslo"}',
    "call:get_time",
    'args:{"zone": "CET"}',
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}},
        },
    },
]


class FakeServer:
    def __init__(self, *args):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [SERVER, *args], stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        line = self.proc.stdout.readline().split()
        assert line and line[0] == "PORT", f"fake server did not start: {line}"
        self.root = f"http://127.0.0.1:{line[1]}"
        self.base_url = self.root + "/v1"

    def client(self, api_key="unused", **kwargs):
        return openai.OpenAI(base_url=self.base_url, api_key=api_key, max_retries=0, **kwargs)

    def close(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=20)
        self.log.seek(0)
        log = self.log.read()
        self.log.close()
        assert rc == 0, f"fake server exited with {rc}:\n{log[-4000:]}"


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


@pytest.fixture
def tool_server():
    s = FakeServer("--scripted-parser", "--script", json.dumps(TOOL_SCRIPT))
    yield s
    s.close()


def user(text="Hi"):
    return [{"role": "user", "content": text}]


def test_chat_completion(server):
    resp = server.client().chat.completions.create(model="fake-model", messages=user())
    assert isinstance(resp, openai.types.chat.ChatCompletion)
    assert resp.id.startswith("chatcmpl-")
    assert resp.object == "chat.completion"
    assert resp.model == "fake-model"
    assert resp.system_fingerprint.startswith("fp_")
    choice = resp.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello, world!"
    assert choice.message.tool_calls is None
    assert resp.usage.completion_tokens == 13
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + 13
    assert resp.usage.prompt_tokens_details.cached_tokens == 0


def test_chat_stream_with_usage(server):
    stream = server.client().chat.completions.create(
        model="fake-model", messages=user(), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(isinstance(c, openai.types.chat.ChatCompletionChunk) for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello, world!"
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 13
    assert len({c.id for c in chunks}) == 1


def test_stream_helper_accumulates_reasoning_and_parallel_tool_calls(tool_server):
    client = tool_server.client()
    with client.chat.completions.stream(
        model="fake-model", messages=user("Weather in Oslo?"), tools=TOOLS
    ) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.done" in events
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    message = choice.message
    assert message.content == "Checking."
    calls = message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}
    assert json.loads(calls[1].function.arguments) == {"zone": "CET"}
    assert all(c.id.startswith("call_") for c in calls) and calls[0].id != calls[1].id
    # reasoning_content is an extra field the SDK keeps.
    assert message.model_extra.get("reasoning_content") == "The user wants the weather."


def test_tool_results_fed_back(tool_server):
    client = tool_server.client()
    first = client.chat.completions.create(model="fake-model", messages=user("Weather?"), tools=TOOLS)
    call = first.choices[0].message.tool_calls[0]
    followup = user("Weather?") + [
        first.choices[0].message.model_dump(exclude_none=True, exclude={"reasoning_content"}),
        {"role": "tool", "tool_call_id": call.id, "content": "7 degrees"},
    ]
    second = client.chat.completions.create(model="fake-model", messages=followup, tools=TOOLS)
    assert second.choices[0].finish_reason == "tool_calls"


def test_logprobs(server):
    resp = server.client().chat.completions.create(
        model="fake-model", messages=user(), logprobs=True, top_logprobs=2
    )
    content = resp.choices[0].logprobs.content
    assert "".join(t.token for t in content) == "Hello, world!"
    assert all(len(t.top_logprobs) == 2 for t in content)
    assert content[0].bytes == [ord("H")]


def test_text_completion(server):
    client = server.client()
    resp = client.completions.create(model="fake-model", prompt="Once", max_tokens=5)
    assert resp.object == "text_completion"
    assert resp.choices[0].text == "Hello"
    assert resp.choices[0].finish_reason == "length"
    chunks = list(client.completions.create(model="fake-model", prompt="Once", stream=True))
    assert "".join(c.choices[0].text for c in chunks) == "Hello, world!"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_models(server):
    models = server.client().models.list()
    assert [m.id for m in models.data] == ["fake-model"]
    assert server.client().models.retrieve("fake-model").owned_by == "hearth"
    with pytest.raises(openai.NotFoundError):
        server.client().models.retrieve("gpt-4o")


def test_errors_surface_as_sdk_exceptions(server):
    client = server.client()
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="fake-model", messages=user(), n=2)
    assert e.value.status_code == 400
    assert e.value.param == "n"
    assert e.value.code == "unsupported_parameter"
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "x" * 2000}]
        )
    assert e.value.code == "context_length_exceeded"
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="gpt-4o", messages=user())
    assert e.value.code == "model_not_found"


def test_api_key():
    s = FakeServer("--api-key", "sk-secret")
    try:
        with pytest.raises(openai.AuthenticationError) as e:
            s.client("sk-wrong").models.list()
        assert e.value.code == "invalid_api_key"
        assert s.client("sk-secret").models.list().data[0].id == "fake-model"
    finally:
        s.close()


def test_metrics_parse_as_prometheus_text(server):
    parser = pytest.importorskip("prometheus_client.parser")
    server.client().chat.completions.create(model="fake-model", messages=user())
    with urllib.request.urlopen(server.root + "/metrics") as r:
        text = r.read().decode()
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    requests = families["hearth_http_requests"]  # the parser drops the _total suffix
    assert requests.type == "counter"
    ok = [s for s in requests.samples if s.labels == {"route": "/v1/chat/completions", "status": "200"}]
    assert ok and ok[0].value == 1
    duration = families["hearth_http_request_duration_seconds"]
    assert duration.type == "histogram"
    assert families["hearth_requests_queued"].samples[0].value == 0
