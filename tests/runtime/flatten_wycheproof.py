"""Flattens a Wycheproof AEAD vector file (tests/vectors/wycheproof/, schema
aead_test_schema_v1) into one line per test for the C++ vector test, which
has no JSON parser (C++17).

Line: tcId key_bits iv_bits tag_bits result key iv aad msg ct tag  ('-' = empty)
"""

import json
import sys


def main(source: str, target: str) -> int:
    with open(source, encoding="utf-8") as handle:
        document = json.load(handle)
    lines = []
    for group in document["testGroups"]:
        for test in group["tests"]:
            fields = [test["key"], test["iv"], test["aad"], test["msg"], test["ct"], test["tag"]]
            lines.append(" ".join([str(test["tcId"]), str(group["keySize"]), str(group["ivSize"]), str(group["tagSize"]),
                                   test["result"]] + [f or "-" for f in fields]))
    if len(lines) != document["numberOfTests"]:
        print(f"flatten_wycheproof: {source} says {document['numberOfTests']} tests, holds {len(lines)}", file=sys.stderr)
        return 1
    with open(target, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(f"flatten_wycheproof: {len(lines)} tests from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
