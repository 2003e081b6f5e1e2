# Applied per target through hearth_set_warnings() so third-party headers stay quiet.
set(HEARTH_WARNING_FLAGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
    -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(REMOVE_ITEM HEARTH_WARNING_FLAGS -Wshadow=local)
  list(APPEND HEARTH_WARNING_FLAGS -Wshadow-uncaptured-local)
endif()
if(HEARTH_WERROR)
  list(APPEND HEARTH_WARNING_FLAGS -Werror)
endif()

set(HEARTH_SANITIZER_FLAGS "")
if(HEARTH_SANITIZE)
  set(HEARTH_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  add_compile_options(${HEARTH_SANITIZER_FLAGS})
  add_link_options(${HEARTH_SANITIZER_FLAGS})
endif()

# With libFuzzer, instrument every library for coverage (fuzz targets add -fsanitize=fuzzer).
if(HEARTH_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(HEARTH_NATIVE)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-march=native>)
endif()

function(hearth_set_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${HEARTH_WARNING_FLAGS}>)
endfunction()
