"""Words a name from a profile must not be, or become, in the generated C++: kept as data.

A profile name becomes `namespace memplan::<name>`; region and pool names are
pasted into C++ identifiers (`<region>_budget`, `pool_<name>_storage`, ...).
A name that is a keyword, or a macro of a library the header (or the product's
translation unit beside it) includes, does not compile, or compiles into
something else. tests/generator/test_reserved.py checks LIBRARY_MACROS against
the macros both toolchains really define, so a toolchain that adds one fails
the tests rather than a product's build.
"""

from __future__ import annotations

import re

# C++98 to C++23 keywords and alternative tokens ([lex.key], [lex.digraph]). The
# contextual words (final, override, import, module) are valid namespace names.
CPP_KEYWORDS = frozenset(
    "alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t char32_t "
    "class compl concept const consteval constexpr constinit const_cast continue co_await co_return co_yield "
    "decltype default delete do double dynamic_cast else enum explicit export extern false float for friend "
    "goto if inline int long mutable namespace new noexcept not not_eq nullptr operator or or_eq private "
    "protected public register reinterpret_cast requires return short signed sizeof static static_assert "
    "static_cast struct switch template this thread_local throw true try typedef typeid typename union "
    "unsigned using virtual void volatile wchar_t while xor xor_eq".split()
)

# Lowercase macros (object- or function-like) of the C and C++ standard
# libraries, glibc and newlib, as `g++ -E -dM` and `arm-none-eabi-g++ -E -dM`
# show them for a translation unit with the C++17 standard headers, the POSIX
# headers the host port uses and the runtime (test_reserved.py), and those of
# C headers a C++ product may still include (<stdbool.h>, <stdalign.h>,
# <stdnoreturn.h>, <complex.h>, <sys/sysmacros.h>).
LIBRARY_MACROS = frozenset(
    # C and C++ standard library
    "assert errno offsetof setjmp sigsetjmp stderr stdin stdout va_arg va_copy va_end va_start "
    "math_errhandling signgam tzname alloca "
    # C headers: <stdbool.h> <stdalign.h> <stdnoreturn.h> <complex.h> <iso646.h>
    "bool true false alignas alignof noreturn complex imaginary and and_eq bitand bitor compl not not_eq "
    "or or_eq xor xor_eq static_assert thread_local "
    # GNU predefined in gnu++ modes, glibc
    "linux unix i386 major minor makedev assert_perror be16toh be32toh be64toh htobe16 htobe32 htobe64 "
    "htole16 htole32 htole64 le16toh le32toh le64toh fd_set quad physadr sigmask strdupa strndupa "
    "pthread_cleanup_pop pthread_cleanup_pop_restore_np pthread_cleanup_push pthread_cleanup_push_defer_np "
    "sa_handler sa_sigaction sched_priority si_addr si_addr_lsb si_arch si_band si_call_addr si_fd si_int "
    "si_lower si_overrun si_pid si_pkey si_ptr si_status si_stime si_syscall si_timerid si_uid si_upper "
    "si_utime si_value sigev_notify_attributes sigev_notify_function st_atime st_ctime st_mtime "
    "sigaddset sigdelset sigemptyset sigfillset sigismember "
    # newlib
    "_flockfile _funlockfile _howmany _stderr_r _stdin_r _stdout_r _tolower _toupper fast_putc fropen fwopen "
    "issubnormal strtodf".split()
)

# Identifiers C++ reserves for the implementation wherever they appear
# ([lex.name]): a double underscore anywhere, or an underscore and a capital.
RESERVED_IDENTIFIER = re.compile(r"__|^_[A-Z]")
