"""`hearth serve` on the real default model, driven by the real `openai` Python SDK.

Plain chat uses the real model (greedy). Tool calls and reasoning use a server started with
--scripted-outputs: the engine replays a given text token by token through the real tokenizer
and chat template, because the 135M model does not call tools reliably.
"""
import json

import openai
import pytest
import requests

MODEL = "SmolLM2-135M-Instruct.Q4_1"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                                                        "unit": {"type": "string"}},
                       "required": ["city"]},
    },
}


def client_for(server):
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key="unused")


def ask(text):
    return [{"role": "user", "content": text}]


def test_models_lists_the_loaded_model(server):
    models = client_for(server).models.list()
    assert [m.id for m in models.data] == ["SmolLM2-135M-Instruct.Q4_1"]


def test_chat_completion_non_streaming(server):
    r = client_for(server).chat.completions.create(
        model=MODEL, messages=ask("What is the capital of France?"),
        temperature=0, max_tokens=40)
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-")
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert "Paris" in choice.message.content
    assert choice.finish_reason == "stop"
    assert r.usage.prompt_tokens > 10
    assert r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_chat_completion_streaming_with_usage(server):
    stream = client_for(server).chat.completions.create(
        model=MODEL, messages=ask("What is the capital of France?"), temperature=0, max_tokens=40,
        stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


def test_streaming_matches_non_streaming_text(server):
    c = client_for(server)
    full = c.chat.completions.create(model=MODEL, messages=ask("Name three colors."), temperature=0,
                                     max_tokens=30).choices[0].message.content
    streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
        model=MODEL, messages=ask("Name three colors."), temperature=0, max_tokens=30, stream=True)
        if ch.choices)
    assert streamed == full


def test_max_tokens_gives_finish_reason_length(server):
    r = client_for(server).chat.completions.create(
        model=MODEL, messages=ask("Write a long story about a dragon."), temperature=0, max_tokens=5)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 5


def test_stop_string_ends_the_answer_before_it(server):
    c = client_for(server)
    r = c.chat.completions.create(model=MODEL, messages=ask("What is the capital of France?"),
                                  temperature=0, max_tokens=40, stop=["Paris"])
    assert r.choices[0].finish_reason == "stop"
    assert "Paris" not in r.choices[0].message.content
    assert r.choices[0].message.content.startswith("The capital of France is")


def test_logprobs_of_chosen_tokens(server):
    r = client_for(server).chat.completions.create(
        model=MODEL, messages=ask("What is the capital of France?"), temperature=0, max_tokens=8,
        logprobs=True, top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens or len(content) == r.usage.completion_tokens - 1
    for entry in content:
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == 3
        # Greedy: the chosen token is the most likely one.
        assert entry.top_logprobs[0].logprob == pytest.approx(entry.logprob, abs=1e-4)
    assert "".join(e.token for e in content).startswith(r.choices[0].message.content[:5])


def test_repeated_prompt_reuses_the_kv_cache(server):
    c = client_for(server)
    msgs = ask("Describe the city of Lyon in one sentence.")
    c.chat.completions.create(model=MODEL, messages=msgs, temperature=0, max_tokens=8)
    r = c.chat.completions.create(model=MODEL, messages=msgs, temperature=0, max_tokens=8)
    assert r.usage.prompt_tokens_details.cached_tokens > 0


def test_text_completions_endpoint(server):
    r = client_for(server).completions.create(model=MODEL, prompt="The capital of France is",
                                              temperature=0, max_tokens=6)
    assert r.object == "text_completion"
    assert "Paris" in r.choices[0].text


def test_context_too_long_is_a_400_with_code(server):
    with pytest.raises(openai.BadRequestError) as e:
        client_for(server).chat.completions.create(model=MODEL, messages=ask("word " * 9000),
                                                   max_tokens=5)
    assert e.value.code == "context_length_exceeded"
    # The server keeps serving.
    assert requests.get(server.base_url + "/health", timeout=5).status_code == 200


def test_unsupported_field_is_named_in_a_400(server):
    with pytest.raises(openai.BadRequestError) as e:
        client_for(server).chat.completions.create(model=MODEL, messages=ask("hi"), n=2)
    assert "n" in str(e.value)


def test_tool_call_single(scripted_server):
    s = scripted_server(['<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'])
    r = client_for(s).chat.completions.create(model=MODEL, messages=ask("Weather in Paris?"),
                                              tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id


def test_tool_calls_parallel_streamed_and_fed_back(scripted_server):
    text = ('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "unit": "C"}}\n</tool_call>')
    s = scripted_server([text, "It is sunny in Paris and in Rome."])
    c = client_for(s)
    calls = {}
    finish = None
    for chunk in c.chat.completions.create(model=MODEL, messages=ask("Weather in Paris and Rome?"),
                                           tools=[WEATHER_TOOL], stream=True):
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        for tc in delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            if tc.id:
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                entry["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                entry["arguments"] += tc.function.arguments
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_weather"]
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert json.loads(calls[1]["arguments"]) == {"city": "Rome", "unit": "C"}
    # Feed the results back: the conversation with tool messages renders and gets an answer.
    messages = ask("Weather in Paris and Rome?") + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": calls[i]["id"], "type": "function",
             "function": {"name": calls[i]["name"], "arguments": calls[i]["arguments"]}}
            for i in sorted(calls)]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "sunny, 24C"},
        {"role": "tool", "tool_call_id": calls[1]["id"], "content": "sunny, 27C"},
    ]
    r = c.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert r.choices[0].message.content == "It is sunny in Paris and in Rome."
    assert r.choices[0].finish_reason == "stop"


def test_malformed_tool_call_comes_back_as_text(scripted_server):
    text = '<tool_call>\n{"name": "get_weather", "arguments": {"city": </tool_call>'
    s = scripted_server([text])
    r = client_for(s).chat.completions.create(model=MODEL, messages=ask("Weather?"),
                                              tools=[WEATHER_TOOL])
    assert r.choices[0].message.tool_calls in (None, [])
    assert "get_weather" in r.choices[0].message.content


def test_reasoning_content_is_split_from_content(scripted_server):
    s = scripted_server(["<think>\nThe user wants 2+2. That is 4.\n</think>\n\nThe answer is 4."])
    c = client_for(s)
    r = c.chat.completions.create(model=MODEL, messages=ask("What is 2+2?"))
    msg = r.choices[0].message
    assert msg.content.strip() == "The answer is 4."
    assert "That is 4." in msg.model_extra["reasoning_content"]
    reasoning, content = "", ""
    for chunk in c.chat.completions.create(model=MODEL, messages=ask("What is 2+2?"), stream=True):
        if chunk.choices:
            d = chunk.choices[0].delta
            reasoning += (d.model_extra or {}).get("reasoning_content") or ""
            content += d.content or ""
            assert "</thi" not in content and "<think" not in content
    assert content.strip() == "The answer is 4."
    assert "That is 4." in reasoning


def test_client_disconnect_cancels_generation(server):
    # Start a long streaming answer, read one chunk, drop the connection; the next request
    # must be served promptly (the engine has one slot, so a leaked generation would block it).
    with requests.post(server.base_url + "/v1/chat/completions", stream=True, timeout=60,
                       json={"model": MODEL, "messages": ask("Write a very long story."),
                             "max_tokens": 2000, "stream": True}) as resp:
        next(resp.iter_lines())
    r = client_for(server).with_options(timeout=20).chat.completions.create(
        model=MODEL, messages=ask("What is the capital of France?"), temperature=0, max_tokens=12)
    assert "Paris" in r.choices[0].message.content
