"""Flattens Wycheproof's aes_gcm_test.json into one line per test for the
C++ vector test (C++17 has no JSON parser; the vectors stay in ../shared).

Line: tcId key_bits iv_bits tag_bits result key iv aad msg ct tag  ('-' = empty)
"""

import json
import sys


def main(source, target):
    try:
        with open(source, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        print(f"flatten_wycheproof: {source} is absent; the Wycheproof test will say so and count nothing")
        with open(target, "w", encoding="utf-8") as out:
            out.write("# absent\n")
        return 0
    lines = []
    for group in document["testGroups"]:
        for test in group["tests"]:
            fields = [test["key"], test["iv"], test["aad"], test["msg"], test["ct"], test["tag"]]
            lines.append(
                " ".join(
                    [str(test["tcId"]), str(group["keySize"]), str(group["ivSize"]), str(group["tagSize"]), test["result"]]
                    + [f or "-" for f in fields]
                )
            )
    with open(target, "w", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(f"flatten_wycheproof: {len(lines)} tests from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
