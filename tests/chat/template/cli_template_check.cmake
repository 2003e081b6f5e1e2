# Runs `hearth models template` on the fixture conversation (tests/fixtures/chat/cli, written by
# make_chat_goldens.py) and compares stdout byte for byte with Python jinja2's rendering.
# Variables: HEARTH (the binary), FIXTURES (tests/fixtures/chat).
foreach(variant "system_multi_turn" "system_multi_turn_no_gen")
  set(extra_args "")
  if(variant STREQUAL "system_multi_turn_no_gen")
    set(extra_args "--no-generation-prompt")
  endif()
  execute_process(
    COMMAND "${HEARTH}" models template "${FIXTURES}/cli" --messages "${FIXTURES}/cli/request.json"
            --template "${FIXTURES}/templates/gemma3.jinja" ${extra_args}
    OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "hearth models template failed (${rc}): ${errors}")
  endif()
  file(READ "${FIXTURES}/cli/${variant}.expected.txt" expected)
  if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "${variant}: output differs\n--- expected\n${expected}\n--- actual\n${actual}")
  endif()
endforeach()
execute_process(
  COMMAND "${HEARTH}" models template "${FIXTURES}/cli" --messages "${FIXTURES}/cli/request.json"
  OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE rc)
if(rc EQUAL 0 OR NOT errors MATCHES "no 'chat_template'")
  message(FATAL_ERROR "expected a clear error for a model without a template, got (${rc}): ${errors}")
endif()
