// Wycheproof's AEAD vectors on a Cortex-M core under QEMU: the same runner
// as the host test (tests/runtime/wycheproof_runner.hpp), over the same
// vectors, embedded in flash by embed_wycheproof.py. The core's own AES
// (ROM tables), GHASH, CCM and ChaCha20-Poly1305 code decides, not the
// host's. Prints the counts per file and "result: ok".
#include <cstdint>

#include <memplan/heap_guard.hpp>

#include "console.hpp"
#include "wycheproof_vectors.hpp"

namespace {

template <class Run, std::size_t kCount>
void run_file(const char* name, const memplan_test::AeadVector (&vectors)[kCount], Run run_one, int opened, int sealed) {
  memplan_test::VectorCounts counts;
  for (const auto& v : vectors) {
    ++counts.total;
    const char* failure = run_one(v, counts);
    if (failure != nullptr) {
      char text[96];
      char* end = firmware::append(text, "  tcId ");
      end = firmware::append(end, v.id);
      end = firmware::append(end, ": ");
      firmware::append(end, failure);
      firmware::write(text);
      firmware::write("\n");
    }
    firmware::check(failure == nullptr, name);
  }
  char text[160];
  char* end = firmware::append(text, "Wycheproof ");
  end = firmware::append(end, name);
  end = firmware::append(end, ": ");
  end = firmware::append(end, static_cast<std::uint32_t>(counts.total));
  end = firmware::append(end, " tests, ");
  end = firmware::append(end, static_cast<std::uint32_t>(counts.opened));
  end = firmware::append(end, " opened (");
  end = firmware::append(end, static_cast<std::uint32_t>(counts.invalid_refused));
  end = firmware::append(end, " invalid refused), ");
  end = firmware::append(end, static_cast<std::uint32_t>(counts.sealed));
  end = firmware::append(end, " sealed, ");
  end = firmware::append(end, static_cast<std::uint32_t>(counts.refused_by_policy));
  firmware::append(end, " refused by policy\n");
  firmware::write(text);
  // The host test's counts: the core agrees on every vector, not only on the failures.
  firmware::check(counts.opened == opened && counts.sealed == sealed, "the host's counts");
}

}  // namespace

int main() {
  run_file("AES-GCM", wycheproof::gcm, memplan_test::run_aead_vector<memplan::AesGcm>, 197, 113);
  run_file("AES-CCM", wycheproof::ccm, memplan_test::run_ccm_vector<>, 324, 270);
  run_file("ChaCha20-Poly1305", wycheproof::chachapoly, memplan_test::run_aead_vector<memplan::ChaCha20Poly1305>,
           316, 256);
  firmware::check(memplan::mbedtls_calloc_calls() == 0, "no heap");
  firmware::write(firmware::failures == 0 ? "result: ok\n" : "result: FAILED\n");
  return firmware::failures;
}
