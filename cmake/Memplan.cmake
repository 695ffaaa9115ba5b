# memplan's CMake API (the README's "In a product's CMake build" documents it):
#
#   memplan_add_layout(<target> PROFILE <file.yaml> [OUTPUT_DIR <dir>])
#     An INTERFACE library whose include directory holds <name>/layout.hpp
#     (include it as <name/layout.hpp>) and whose link options let a linker
#     script `INCLUDE <name>/layout.ld`. The files are generated at build time,
#     again only when the profile, a template or the generator changed; a bad
#     profile fails the build with the profile's own file:line:col errors.
#     Properties: MEMPLAN_PROFILE, MEMPLAN_LAYOUT_NAME, MEMPLAN_LAYOUT_DIR,
#     MEMPLAN_LINKER_FRAGMENT, MEMPLAN_BUDGET_JSON.
#
#   Every layout's profile also configures mbedTLS: at the end of the configure
#   step, the tables the profiles chose (crypto.tables) become compile
#   definitions of memplan::mbedcrypto and of everything using it. One build has
#   one mbedTLS, so profiles that disagree stop the configure step with their
#   positions; an installed package serves the choices it was built with
#   (profiles given in MEMPLAN_MBEDTLS_PROFILES when it was built) and refuses
#   others.
#
#   memplan_check_elf(<executable> PROFILE <file.yaml> [REPORT <file.md>] [PICTURE <file.svg>] [MAP <file.map>])
#     After each link, checks the image against the profile (pyelftools) and
#     fails the build on any violation; writes a Markdown budget report and
#     its picture (default: <executable>.budget.md and .budget.svg in the
#     current binary directory). On Cortex-M with GCC, a profile with a
#     `stack` section also has each entry point's worst-case stack checked
#     against it, from the call graph GCC writes for the layout's users and
#     memplan's libraries; and the link writes its map (MAP, default
#     <executable>.map beside the report; do not pass another -Wl,-Map), from
#     which the report attributes every byte of each region by origin.
include_guard(GLOBAL)

set(_memplan_cmake_dir "${CMAKE_CURRENT_LIST_DIR}")
# A checkout has generator/ and templates/ beside cmake/; an installed package
# points these at its share/ directory (see memplanConfig.cmake).
if(NOT DEFINED MEMPLAN_GENERATOR_DIR)
  set(MEMPLAN_GENERATOR_DIR "${_memplan_cmake_dir}/../generator")
endif()
if(NOT DEFINED MEMPLAN_TEMPLATE_DIR)
  set(MEMPLAN_TEMPLATE_DIR "${_memplan_cmake_dir}/../templates")
endif()
get_filename_component(MEMPLAN_GENERATOR_DIR "${MEMPLAN_GENERATOR_DIR}" ABSOLUTE)
get_filename_component(MEMPLAN_TEMPLATE_DIR "${MEMPLAN_TEMPLATE_DIR}" ABSOLUTE)
# Global: the functions run in the caller's directory scope (add_subdirectory users).
set_property(GLOBAL PROPERTY MEMPLAN_GENERATOR_DIR "${MEMPLAN_GENERATOR_DIR}")
set_property(GLOBAL PROPERTY MEMPLAN_TEMPLATE_DIR "${MEMPLAN_TEMPLATE_DIR}")
# An installed package's call-graph files of its prebuilt libraries (memplanConfig.cmake sets it).
if(DEFINED MEMPLAN_CALLGRAPH_DIR)
  set_property(GLOBAL PROPERTY MEMPLAN_CALLGRAPH_DIR "${MEMPLAN_CALLGRAPH_DIR}")
endif()

# Debian's interpreter has the modules (python3-jinja2, -yaml, -pyelftools);
# another python3 earlier on PATH usually does not.
if(NOT MEMPLAN_PYTHON)
  if(EXISTS /usr/bin/python3)
    set(_memplan_python_default /usr/bin/python3)
  else()
    find_program(_memplan_python_default NAMES python3 REQUIRED)
  endif()
  set(MEMPLAN_PYTHON "${_memplan_python_default}" CACHE FILEPATH "Python 3 with jinja2, yaml and elftools")
endif()

# The profile's name and the files generated for it, from the generator itself
# (`memplan name --outputs`), which reads the YAML as every other command does:
# quoting, comments and flow style cannot fool it, and no file name is spelled
# here. A profile whose name is invalid stops the configure step with the
# generator's file:line:col error; other errors stop the build.
function(_memplan_profile_name profile name_var outputs_var)
  get_property(generator_dir GLOBAL PROPERTY MEMPLAN_GENERATOR_DIR)
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${generator_dir}" PYTHONDONTWRITEBYTECODE=1
            "${MEMPLAN_PYTHON}" -m memplan name "${profile}" --outputs
    OUTPUT_VARIABLE _lines RESULT_VARIABLE _status OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _status EQUAL 0)
    # The generator's own lines went to stderr as they are (message() would rewrap them).
    message(FATAL_ERROR "memplan: cannot read the name of ${profile} (the errors are above)")
  endif()
  # A valid name and the generator's file names hold no ';', '[' or newline.
  string(REPLACE "\n" ";" _lines "${_lines}")
  list(POP_FRONT _lines _name)
  set(${name_var} "${_name}" PARENT_SCOPE)
  set(${outputs_var} "${_lines}" PARENT_SCOPE)
endfunction()

set(MEMPLAN_MBEDTLS_PROFILES "" CACHE STRING
    "Profiles (;-list) whose mbedTLS table choices this build's mbedTLS must serve, besides its own layouts' (for installed packages)")

# Runs once, when the top-level directory is done (every memplan_add_layout has run).
function(_memplan_configure_mbedtls)
  get_property(generator_dir GLOBAL PROPERTY MEMPLAN_GENERATOR_DIR)
  get_property(profiles GLOBAL PROPERTY MEMPLAN_BUILD_PROFILES)
  foreach(profile IN LISTS MEMPLAN_MBEDTLS_PROFILES)
    get_filename_component(profile "${profile}" ABSOLUTE)
    list(APPEND profiles "${profile}")
  endforeach()
  if(TARGET memplan_mbedcrypto)
    set(installed OFF)
  elseif(TARGET memplan::mbedcrypto AND profiles)
    set(installed ON)
  else()
    return()
  endif()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${generator_dir}" PYTHONDONTWRITEBYTECODE=1
            "${MEMPLAN_PYTHON}" -m memplan mbedtls --ignore-invalid ${profiles}
    OUTPUT_VARIABLE macros RESULT_VARIABLE status OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "memplan: the profiles of this build cannot share one mbedTLS build (the errors are above)")
  endif()
  string(REPLACE "\n" ";" macros "${macros}")
  if(NOT installed)
    target_compile_definitions(memplan_mbedcrypto PUBLIC ${macros})
    return()
  endif()
  get_target_property(built memplan::mbedcrypto INTERFACE_COMPILE_DEFINITIONS)
  list(FILTER built INCLUDE REGEX "^(MEMPLAN_MBEDTLS_PLANNED|MBEDTLS_AES_|MBEDTLS_GCM_)")
  list(SORT built)
  list(SORT macros)
  if(NOT built STREQUAL macros)
    string(REPLACE ";" " " built "${built}")
    string(REPLACE ";" " " macros "${macros}")
    message(FATAL_ERROR "memplan: the profiles (${profiles}) need mbedTLS built with ${macros}; the installed "
                        "memplan::mbedcrypto was built with ${built}. Build and install memplan with "
                        "-DMEMPLAN_MBEDTLS_PROFILES=<your profiles>, or choose the installed tables (crypto.tables).")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _memplan_configure_mbedtls)

# GCC's call graph and frames (-fcallgraph-info=su writes a .ci beside each object) for the
# stack analysis of memplan_check_elf; Cortex-M builds with GCC only (the analysis reads Thumb).
function(_memplan_callgraph_options target scope)
  if(CMAKE_CROSSCOMPILING AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} ${scope} $<$<COMPILE_LANGUAGE:C,CXX>:-fcallgraph-info=su>)
  endif()
endfunction()

function(memplan_add_layout target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "PROFILE;OUTPUT_DIR" "")
  get_property(MEMPLAN_GENERATOR_DIR GLOBAL PROPERTY MEMPLAN_GENERATOR_DIR)
  get_property(MEMPLAN_TEMPLATE_DIR GLOBAL PROPERTY MEMPLAN_TEMPLATE_DIR)
  if(NOT ARG_PROFILE)
    message(FATAL_ERROR "memplan_add_layout(${target}): PROFILE <file.yaml> is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "memplan_add_layout(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  get_filename_component(profile "${ARG_PROFILE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${profile}")
    message(FATAL_ERROR "memplan_add_layout(${target}): profile '${profile}' does not exist")
  endif()
  if(ARG_OUTPUT_DIR)
    get_filename_component(out_dir "${ARG_OUTPUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  else()
    set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/memplan/${target}")
  endif()
  # The name decides the output folder; re-read it when the profile changes.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${profile}")
  _memplan_profile_name("${profile}" name generated)
  set_property(GLOBAL APPEND PROPERTY MEMPLAN_BUILD_PROFILES "${profile}")

  set(layout_dir "${out_dir}/${name}")
  list(TRANSFORM generated PREPEND "${out_dir}/" OUTPUT_VARIABLE outputs)
  set(fragment "${outputs}")
  list(FILTER fragment INCLUDE REGEX "\\.ld$")
  set(budget_json "${outputs}")
  list(FILTER budget_json INCLUDE REGEX "\\.json$")
  set(stamp "${out_dir}/.${name}.stamp")
  file(GLOB generator_sources CONFIGURE_DEPENDS "${MEMPLAN_GENERATOR_DIR}/memplan/*.py")
  file(GLOB template_sources CONFIGURE_DEPENDS "${MEMPLAN_TEMPLATE_DIR}/*.j2")

  # The generator rewrites only changed files; the stamp records that it ran,
  # and BYPRODUCTS (restat) keep unchanged headers from rebuilding their users.
  add_custom_command(
    OUTPUT "${stamp}"
    BYPRODUCTS ${outputs}
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${MEMPLAN_GENERATOR_DIR}" "MEMPLAN_TEMPLATE_DIR=${MEMPLAN_TEMPLATE_DIR}"
            PYTHONDONTWRITEBYTECODE=1 "${MEMPLAN_PYTHON}" -m memplan generate "${profile}" --out "${out_dir}"
    COMMAND ${CMAKE_COMMAND} -E touch "${stamp}"
    DEPENDS "${profile}" ${generator_sources} ${template_sources}
    COMMENT "memplan: generating layout '${name}' from ${ARG_PROFILE}"
    VERBATIM)
  add_custom_target(${target}_generate DEPENDS "${stamp}")

  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_generate)
  _memplan_callgraph_options(${target} INTERFACE)
  target_include_directories(${target} INTERFACE "$<BUILD_INTERFACE:${out_dir}>")
  target_link_options(${target} INTERFACE "LINKER:-L${out_dir}")
  set_target_properties(${target} PROPERTIES
    MEMPLAN_PROFILE "${profile}"
    MEMPLAN_LAYOUT_NAME "${name}"
    MEMPLAN_LAYOUT_DIR "${layout_dir}"
    MEMPLAN_LINKER_FRAGMENT "${fragment}"
    MEMPLAN_BUDGET_JSON "${budget_json}")
endfunction()

function(memplan_check_elf target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "PROFILE;REPORT;PICTURE;MAP" "")
  get_property(MEMPLAN_GENERATOR_DIR GLOBAL PROPERTY MEMPLAN_GENERATOR_DIR)
  if(NOT ARG_PROFILE)
    message(FATAL_ERROR "memplan_check_elf(${target}): PROFILE <file.yaml> is required")
  endif()
  get_filename_component(profile "${ARG_PROFILE}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT ARG_REPORT)
    set(ARG_REPORT "${CMAKE_CURRENT_BINARY_DIR}/${target}.budget.md")
  endif()
  if(NOT ARG_PICTURE)
    set(ARG_PICTURE "${CMAKE_CURRENT_BINARY_DIR}/${target}.budget.svg")
  endif()
  # The stack analysis reads the call graph of the target's objects and of memplan's libraries,
  # built here or installed with the package; code without one (newlib's, libgcc's) is read from
  # the image.
  set(image_inputs "")
  if(CMAKE_CROSSCOMPILING AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set(image_inputs --callgraph "$<TARGET_OBJECTS:${target}>")
    foreach(library memplan_runtime memplan_mbedcrypto)
      if(TARGET ${library})
        list(APPEND image_inputs "$<TARGET_OBJECTS:${library}>")
      endif()
    endforeach()
    get_property(installed_callgraph GLOBAL PROPERTY MEMPLAN_CALLGRAPH_DIR)
    if(NOT TARGET memplan_runtime AND installed_callgraph AND IS_DIRECTORY "${installed_callgraph}")
      list(APPEND image_inputs "${installed_callgraph}")
    endif()
    # The link's map names the file behind every input section: the report's bytes by origin.
    if(NOT ARG_MAP)
      set(ARG_MAP "${CMAKE_CURRENT_BINARY_DIR}/${target}.map")
    endif()
    target_link_options(${target} PRIVATE "LINKER:-Map=${ARG_MAP}")
    list(APPEND image_inputs --map "${ARG_MAP}")
  endif()
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E env "PYTHONPATH=${MEMPLAN_GENERATOR_DIR}" PYTHONDONTWRITEBYTECODE=1
            "${MEMPLAN_PYTHON}" -m memplan check-elf "$<TARGET_FILE:${target}>" --profile "${profile}"
            --format md --output "${ARG_REPORT}" --picture "${ARG_PICTURE}" ${image_inputs}
    COMMENT "memplan: checking $<TARGET_FILE_NAME:${target}> against ${ARG_PROFILE}"
    VERBATIM COMMAND_EXPAND_LISTS)
endfunction()
