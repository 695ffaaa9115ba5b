# memplan_target_warnings(<target>): the project's warning set, as errors,
# for g++, clang++ and arm-none-eabi-g++.
function(memplan_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Werror -Wshadow -Wconversion -Wsign-conversion
    -Wcast-align -Wnon-virtual-dtor -Wold-style-cast -Wnull-dereference
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
endfunction()
