"""memplan's AEADs against OpenSSL (Debian's python3-cryptography): every
message the runtime sealed, with the nonce it chose, opens under OpenSSL;
every message OpenSSL sealed opens under the runtime; and a message with one
bit flipped is refused by both.

    cross_check_aead.py <aead_cross_check binary>
"""

import subprocess
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305


def openssl_open(aead, key, tag_size, nonce, aad, sealed):
    """The plaintext, or None when OpenSSL refuses the tag."""
    ciphertext, tag = sealed[:len(sealed) - tag_size], sealed[len(sealed) - tag_size:]
    try:
        if aead == "gcm":  # AESGCM refuses short tags; the Cipher API takes 12..16 bytes
            decryptor = Cipher(algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=12)).decryptor()
            decryptor.authenticate_additional_data(aad)
            return decryptor.update(ciphertext) + decryptor.finalize()
        if aead == "ccm":
            return AESCCM(key, tag_length=tag_size).decrypt(nonce, sealed, aad)
        return ChaCha20Poly1305(key).decrypt(nonce, sealed, aad)
    except InvalidTag:
        return None


def openssl_seal(aead, key, tag_size, nonce, aad, plaintext):
    if aead == "gcm":
        encryptor = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return ciphertext + encryptor.tag[:tag_size]
    if aead == "ccm":
        return AESCCM(key, tag_length=tag_size).encrypt(nonce, plaintext, aad)
    return ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)


def unhex(text):
    return b"" if text == "-" else bytes.fromhex(text)


def enhex(data):
    return data.hex() or "-"


def main(binary):
    sealed_run = subprocess.run([binary, "seal"], capture_output=True, text=True, timeout=120)
    if sealed_run.returncode != 0:
        print(f"cross_check_aead: {binary} seal failed: {sealed_run.stderr}")
        return 1
    lines = sealed_run.stdout.splitlines()
    failures = 0
    nonces = set()
    ours = []
    counts = {}
    for line in lines:
        aead, key_bits, tag_size, nonce_size, key, nonce, aad, sealed, plaintext = line.split()
        tag_size, nonce_size = int(tag_size), int(nonce_size)
        key, nonce, aad, sealed, plaintext = map(unhex, (key, nonce, aad, sealed, plaintext))
        label = f"{aead}-{key_bits} tag {tag_size} nonce {nonce_size}"
        counts[label] = counts.get(label, 0) + 1
        if (label, nonce) in nonces:
            print(f"cross_check_aead: {label}: the runtime used nonce {nonce.hex()} twice")
            failures += 1
        nonces.add((label, nonce))
        if openssl_open(aead, key, tag_size, nonce, aad, sealed) != plaintext:
            print(f"cross_check_aead: {label}: OpenSSL does not open what memplan sealed ({len(plaintext)} B)")
            failures += 1
        # OpenSSL seals the same plaintext under another nonce of the same shape; memplan must open it.
        other = bytes(reversed(nonce))
        theirs = openssl_seal(aead, key, tag_size, other, aad, plaintext)
        ours.append(" ".join([aead, key_bits, str(tag_size), str(nonce_size), enhex(key), enhex(other), enhex(aad),
                              enhex(theirs), enhex(plaintext)]))
        flipped = bytearray(theirs)
        flipped[len(flipped) // 2] ^= 0x01
        ours.append(" ".join([aead, key_bits, str(tag_size), str(nonce_size), enhex(key), enhex(other), enhex(aad),
                              enhex(bytes(flipped)), enhex(plaintext)]))
        if openssl_open(aead, key, tag_size, other, aad, bytes(flipped)) is not None:
            print(f"cross_check_aead: {label}: OpenSSL opened a flipped message")
            failures += 1
    opened_run = subprocess.run([binary, "open"], input="\n".join(ours) + "\n", capture_output=True, text=True, timeout=120)
    if opened_run.returncode != 0:
        print(f"cross_check_aead: {binary} open failed: {opened_run.stderr}")
        return 1
    results = opened_run.stdout.splitlines()
    if len(results) != len(ours):
        print(f"cross_check_aead: {len(ours)} messages given to memplan, {len(results)} answers")
        return 1
    for index, result in enumerate(results):
        expected = "ok" if index % 2 == 0 else "refused AuthenticationFailed"
        if result != expected:
            print(f"cross_check_aead: message {index} ({ours[index].split()[0]}): memplan said {result!r}, expected {expected!r}")
            failures += 1
    for label, count in sorted(counts.items()):
        print(f"cross_check_aead: {label}: {count} sealed by memplan opened by OpenSSL, {count} sealed by OpenSSL opened "
              f"by memplan, {count} flipped refused by both")
    if not lines or failures:
        print(f"cross_check_aead: {failures} failures")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
