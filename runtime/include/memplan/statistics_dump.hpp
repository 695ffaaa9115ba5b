// The statistics that size a product, as versioned text through the console
// port: print it at the end of a representative run (or on a debug command)
// and `memplan fit` reads it back from the log, with other lines around it.
// docs/statistics.md is the format's contract; version 1 is
//
//   memplan-statistics 1 layout=<profile name>
//   pool name=<name> block_size=<B> block_count=<n> in_use=<n> high_water=<n>
//        overflow_high_water=<n> failures=<n> spills=<n> largest_request=<B>
//        request_sizes=<8 counts, comma-separated>          (one line per pool)
//   sessions count=<n> high_water=<n> key_slots=<n> key_slots_high_water=<n>
//   memplan-statistics end
//
// Each pool's numbers are read under its own lock, the table's under the
// table's: each line is consistent, the lines are taken one after the other.
#pragma once

#include <cstddef>
#include <cstdint>

#include "memplan/pool.hpp"
#include "memplan/pools.hpp"
#include "memplan/port/console.hpp"
#include "memplan/session_table.hpp"

namespace memplan {

inline constexpr unsigned kStatisticsFormat = 1;

namespace detail {
inline void print_field(Console& console, const char* name, std::uint64_t value) noexcept {
  console.print(" ");
  console.print(name);
  console.print("=");
  console.print_decimal(value);
}
}  // namespace detail

template <class Lock, class Backend>
void print_statistics(Console& console, const char* layout_name, const BasicPools<Lock>& pools,
                      const BasicSessionTable<Lock, Backend>& sessions) noexcept {
  console.print("memplan-statistics ");
  console.print_decimal(kStatisticsFormat);
  console.print(" layout=");
  console.print(layout_name);
  console.print("\n");
  for (std::size_t i = 0; i < pools.size(); ++i) {
    const PoolStats s = pools[i].stats();
    console.print("pool name=");
    console.print(s.name);
    detail::print_field(console, "block_size", s.block_size);
    detail::print_field(console, "block_count", s.block_count);
    detail::print_field(console, "in_use", s.in_use);
    detail::print_field(console, "high_water", s.high_water);
    detail::print_field(console, "overflow_high_water", s.overflow_high_water);
    detail::print_field(console, "failures", s.allocation_failures);
    detail::print_field(console, "spills", s.spills);
    detail::print_field(console, "largest_request", s.largest_request);
    console.print(" request_sizes=");
    for (std::size_t bucket = 0; bucket < kRequestSizeBuckets; ++bucket) {
      if (bucket != 0) console.print(",");
      console.print_decimal(s.request_sizes[bucket]);
    }
    console.print("\n");
  }
  const SessionTableStats t = sessions.stats();
  console.print("sessions");
  detail::print_field(console, "count", sessions.session_count());
  detail::print_field(console, "high_water", t.sessions_high_water);
  detail::print_field(console, "key_slots", sessions.key_slot_count());
  detail::print_field(console, "key_slots_high_water", t.key_slots_high_water);
  console.print("\nmemplan-statistics end\n");
}

}  // namespace memplan
