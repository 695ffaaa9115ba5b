# Builds mbedTLS 3.6 (AES + GCM only) from source with the project's config.
# Owner: sessions work (issue 4). Provides the target memplan::mbedcrypto.
