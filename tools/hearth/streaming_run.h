// Runs one generation request on an engine from a CLI command: prints text as it streams,
// cancels on Ctrl-C, and returns the final event.
#pragma once

#include <cstdio>
#include <string>

#include "hearth/request.h"
#include "runtime/engine/engine.h"

namespace hearth::cli {

// Installs a SIGINT handler that cancels the running generation (a second Ctrl-C exits).
void install_interrupt_handler();
// True once Ctrl-C was pressed during the current generation.
bool interrupted();

// Streams the generated text to `out` (flushed per piece); the returned event is kDone
// (possibly with FinishReason::kCancelled) or an error Status from submit or the engine.
// The whole text is also appended to `text` when given.
Expected<GenerationEvent> run_streaming(Engine& engine, GenerationRequest request, std::FILE* out,
                                        std::string* text = nullptr);

// mlx_lm-style summary: prompt and generation tokens/s, peak memory.
void print_generation_stats(const GenerationEvent& done, std::FILE* out);

}  // namespace hearth::cli
