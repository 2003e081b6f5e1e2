"""`hearth generate` and `hearth chat` on the real default model (greedy decoding)."""
import re

import pytest

from conftest import run_hearth


@pytest.mark.parametrize("prompt,expected", [
    ("What is the capital of France?", "Paris"),
    ("What is the capital of Germany?", "Berlin"),
    ("How many days are in a week?", "7"),
])
def test_generate_answers_factual_prompts(model, prompt, expected):
    r = run_hearth("generate", "-m", model, "--prompt", prompt, "--max-tokens", "40")
    assert r.returncode == 0, r.stderr
    assert expected in r.stdout


def test_generate_reads_prompt_from_stdin_and_reports_speed(model):
    r = run_hearth("generate", "-m", model, "--prompt", "-", "--max-tokens", "16", "--verbose",
                   stdin="What is the capital of France?")
    assert r.returncode == 0, r.stderr
    assert "Paris" in r.stdout
    assert re.search(r"Prompt: \d+ tokens .*tokens-per-sec", r.stderr)
    assert re.search(r"Generation: \d+ tokens, [\d.]+ tokens-per-sec", r.stderr)
    assert re.search(r"Peak memory: [\d.]+ GB", r.stderr)


def test_default_alias_resolves_to_the_default_model(model):
    r = run_hearth("generate", "--prompt", "What is the capital of France?", "--max-tokens", "12")
    assert r.returncode == 0, r.stderr
    assert "Paris" in r.stdout


def test_seeded_sampling_is_reproducible(model):
    args = ("generate", "-m", model, "--prompt", "Tell me a story.", "--max-tokens", "24",
            "--temp", "0.9", "--top-p", "0.95", "--seed", "1234")
    a, b = run_hearth(*args), run_hearth(*args)
    assert a.returncode == 0 and b.returncode == 0
    assert a.stdout == b.stdout
    c = run_hearth(*args[:-1], "999")
    assert c.stdout != a.stdout


def test_ignore_chat_template_feeds_raw_text(model):
    r = run_hearth("generate", "-m", model, "--ignore-chat-template", "--prompt",
                   "The capital of France is", "--max-tokens", "8")
    assert r.returncode == 0, r.stderr
    assert "Paris" in r.stdout


def test_chat_keeps_context_over_three_turns(model):
    turns = "I want to learn about Germany.\nWhat is its capital?\nWhat language do people speak there?\n"
    r = run_hearth("chat", "-m", model, "--max-tokens", "40", "--verbose", stdin=turns)
    assert r.returncode == 0, r.stderr
    answers = [line for line in r.stdout.splitlines() if line.strip()]
    assert len(answers) >= 3, r.stdout
    # "its" and "there" only make sense with the earlier turns in the context.
    assert "Berlin" in r.stdout
    assert "German" in r.stdout.split("Berlin", 1)[1]
    # Each turn re-sends the whole conversation, and the engine reuses the cached prefix.
    prompts = [(int(a), int(b)) for a, b in re.findall(r"Prompt: (\d+) tokens \((\d+) cached\)", r.stderr)]
    assert len(prompts) == 3
    assert prompts[0][0] < prompts[1][0] < prompts[2][0]
    assert prompts[1][1] > 0 and prompts[2][1] > prompts[1][1]


def test_question_without_context_does_not_know_the_country(model):
    # Control for the test above: the pronoun alone does not lead to Berlin.
    r = run_hearth("generate", "-m", model, "--prompt", "What is its capital?", "--max-tokens", "40")
    assert r.returncode == 0
    assert "Berlin" not in r.stdout


def test_chat_reset_forgets_the_conversation(model):
    turns = "I want to learn about Germany.\n/reset\nWhat is its capital?\n/exit\nignored\n"
    r = run_hearth("chat", "-m", model, "--max-tokens", "40", stdin=turns)
    assert r.returncode == 0, r.stderr
    # After /reset the answer is exactly what a fresh single-turn conversation gives.
    fresh = run_hearth("generate", "-m", model, "--prompt", "What is its capital?", "--max-tokens", "40")
    assert fresh.returncode == 0
    assert r.stdout.endswith(fresh.stdout)
    assert "Berlin" not in fresh.stdout
    assert "ignored" not in r.stdout


def test_prompt_longer_than_context_is_refused(model):
    r = run_hearth("generate", "-m", model, "--ctx-size", "64", "--prompt", "word " * 200)
    assert r.returncode != 0
    assert "context" in r.stderr and "64" in r.stderr
    assert r.stdout.strip() == ""


def test_generation_stops_at_the_context_limit_without_error(model):
    r = run_hearth("generate", "-m", model, "--ctx-size", "48", "--prompt", "Count from 1 to 100.",
                   "--max-tokens", "500", "--verbose")
    assert r.returncode == 0, r.stderr
    m = re.search(r"Prompt: (\d+) tokens.*\nGeneration: (\d+) tokens", r.stderr)
    assert m and int(m.group(1)) + int(m.group(2)) == 48


def test_missing_model_file_gives_a_clear_error(tmp_path):
    missing = tmp_path / "nope.gguf"
    r = run_hearth("generate", "-m", str(missing), "--prompt", "hi")
    assert r.returncode != 0
    assert "nope.gguf" in r.stderr and ("not found" in r.stderr or "No such file" in r.stderr)


def test_corrupt_model_file_gives_a_clear_error(tmp_path, model):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a model file at all" * 10)
    r = run_hearth("generate", "-m", str(bad), "--prompt", "hi")
    assert r.returncode != 0
    assert "not a GGUF file" in r.stderr
    truncated = tmp_path / "truncated.gguf"
    with open(model, "rb") as f:
        truncated.write_bytes(f.read(5_000_000))
    r = run_hearth("generate", "-m", str(truncated), "--prompt", "hi")
    assert r.returncode != 0
    assert "truncated" in r.stderr


def test_models_inspect_reports_the_default_model(model):
    r = run_hearth("models", "inspect", model)
    assert r.returncode == 0, r.stderr
    for fact in ("llama", "Q4_1", "8192", "49152", "chat template"):
        assert fact in r.stdout
