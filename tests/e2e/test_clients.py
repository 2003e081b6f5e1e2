"""The same flows through other real clients: langchain-openai and the `llm` CLI."""
import os
import subprocess
import sys

import pytest

MODEL = "SmolLM2-135M-Instruct.Q4_1"
TOOL_CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def test_langchain_chat_and_streaming(server):
    from langchain_openai import ChatOpenAI
    llm = ChatOpenAI(base_url=server.base_url + "/v1", api_key="unused", model=MODEL,
                     temperature=0, max_tokens=40)
    assert "Paris" in llm.invoke("What is the capital of France?").content
    streamed = "".join(chunk.content for chunk in llm.stream("What is the capital of France?"))
    assert "Paris" in streamed


def test_langchain_bind_tools_and_tool_results(scripted_server):
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"sunny in {city}"

    s = scripted_server([TOOL_CALL, "It is sunny in Paris."])
    llm = ChatOpenAI(base_url=s.base_url + "/v1", api_key="unused", model=MODEL).bind_tools([get_weather])
    messages = [HumanMessage("What is the weather in Paris?")]
    ai = llm.invoke(messages)
    assert [(c["name"], c["args"]) for c in ai.tool_calls] == [("get_weather", {"city": "Paris"})]
    messages += [ai, ToolMessage(get_weather.invoke(ai.tool_calls[0]["args"]),
                                 tool_call_id=ai.tool_calls[0]["id"])]
    final = llm.invoke(messages)
    assert final.content == "It is sunny in Paris."


def run_llm(base_url, tmp_path, *args):
    (tmp_path / "extra-openai-models.yaml").write_text(
        f"- model_id: hearth\n  model_name: {MODEL}\n  api_base: \"{base_url}/v1\"\n"
        "  supports_tools: true\n")
    env = dict(os.environ, LLM_USER_PATH=str(tmp_path), OPENAI_API_KEY="unused")
    llm_bin = os.path.join(os.path.dirname(sys.executable), "llm")
    return subprocess.run([llm_bin, "-m", "hearth", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_llm_cli_prompt(server, tmp_path):
    r = run_llm(server.base_url, tmp_path, "-o", "temperature", "0", "-o", "max_tokens", "40",
                "What is the capital of France?")
    assert r.returncode == 0, r.stderr
    assert "Paris" in r.stdout


def test_llm_cli_tool_call(scripted_server, tmp_path):
    s = scripted_server([TOOL_CALL, "It is sunny in Paris."])
    r = run_llm(s.base_url, tmp_path, "--functions",
                "def get_weather(city: str) -> str:\n    return 'sunny in ' + city\n",
                "What is the weather in Paris?")
    assert r.returncode == 0, r.stderr
    assert "It is sunny in Paris." in r.stdout
