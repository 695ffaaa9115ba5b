# Sanitizers apply to everything built in this tree (the runtime, mbedTLS and
# the tests) so that a finding in any layer is caught.
if(MEMPLAN_SANITIZE AND MEMPLAN_SANITIZE_THREAD)
  message(FATAL_ERROR "MEMPLAN_SANITIZE and MEMPLAN_SANITIZE_THREAD are exclusive")
endif()
if(MEMPLAN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(MEMPLAN_SANITIZE_THREAD)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
