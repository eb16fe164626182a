#!/usr/bin/env python3
"""Recomputes the protocol version 4 worked examples of docs/protocol.md from that page alone.

    python3 scripts/golden_v4.py

Prints the GrantTier and PrepaidTopUp bytes and ids, the version 4 test genesis (billing terms,
then the tier program, after issuance_cap_points), its hash, its genesis records and state
hash 0, the version 2 account record (with the tier state) and the version 3 issuance record. tests/golden_test.cpp pins the same
values from the C++ code; the two were written apart so that a disagreement shows a fault in
one of them or in the page. Needs only the standard library and Python's `cryptography`
package (ed25519). When version 4 gains genesis fields, append them in genesis_v4() in the
order docs/protocol.md lists them and paste the new hashes into both places.
"""
import hashlib
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def leb128(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def u8(n): return struct.pack("<B", n)
def u16(n): return struct.pack("<H", n)
def u32(n): return struct.pack("<I", n)
def u64(n): return struct.pack("<Q", n)
def string(s): return leb128(len(s)) + s.encode()
def tagged_hash(prefix, *parts): return hashlib.sha256(prefix.encode() + b"".join(parts)).digest()


def seeded_key(label):
    # A seed is SHA-256(label) (docs/protocol.md, "Worked examples").
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(label.encode()).digest())


def public(key):
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


GENESIS_TIME_MS = 1_700_000_000_000
DAY_MS = 86_400_000
CUSTOMER_1 = public(seeded_key("customer 1"))
BILLING_KEY = public(seeded_key("coalition billing"))


def genesis_body():
    """Bytes 1-300 of the version 1 test genesis: everything after the encoding byte."""
    out = string("test-chain") + string("Test Coalition") + u64(GENESIS_TIME_MS) + leb128(3)
    for partner in (1, 2, 3):
        out += u16(partner) + string(f"Partner {partner}")
        out += public(seeded_key(f"partner {partner} issuer")) + public(seeded_key(f"partner {partner} validator"))
        out += u64(1 if partner == 1 else 0)
    return out + u32(0) + u8(1) + u64(0)  # no expiry, transfers allowed, no cap


def billing_terms():
    # EUR with 2 minor digits; partner 1 post-paid (1) at 250, partner 2 prepaid (2) at 200 with
    # 100000 points bought before the chain began, partner 3 post-paid at 0.
    out = b"EUR" + u8(2) + BILLING_KEY + leb128(3)
    out += u16(1) + u8(1) + u64(250)
    out += u16(2) + u8(2) + u64(200) + u64(100_000)
    out += u16(3) + u8(1) + u64(0)
    return out


def tier_program():
    # 30-day windows, 10 days of grace, Silver from 1000 at x1.25, Gold from 5000 at x1.5.
    out = u16(30) + u16(10) + leb128(2)
    out += string("Silver") + u64(1_000) + u32(12_500)
    out += string("Gold") + u64(5_000) + u32(15_000)
    return out


def genesis_v4():
    return u8(2) + u16(4) + genesis_body() + billing_terms() + tier_program()


def digest(records):
    out = b"PCSD" + leb128(len(records))
    for key, value in sorted(records):
        out += leb128(len(key)) + key + leb128(len(value)) + value
    return hashlib.sha256(out).digest()


def signed(type_tag, sequence, body, key):
    unsigned = u8(1) + u8(type_tag) + string("test-chain") + u64(sequence) + u64(1000) + body
    tx = unsigned + key.sign(b"PCTS" + unsigned)
    return tx, tagged_hash("PCTX", tx)


def main():
    genesis = genesis_v4()
    genesis_hash = tagged_hash("PCGN", genesis)
    partner_value = u8(1) + u64(0) * 7
    records = [(b"p" + struct.pack(">H", p), partner_value) for p in (1, 2, 3)]
    records.append((b"t", u8(1) + u64(0) * 6))
    # Partner 2 is prepaid: top-up sequence 0, balance 100000, topped up 0.
    records.append((b"B" + struct.pack(">H", 2), u8(1) + u64(0) + u64(100_000) + u64(0)))
    state_hash_0 = tagged_hash("PCSH", genesis_hash, digest(records))

    until_ms = GENESIS_TIME_MS + 30 * DAY_MS
    grant, grant_id = signed(9, 1, u16(3) + CUSTOMER_1 + u8(2) + u64(until_ms), seeded_key("partner 3 issuer"))
    top_up, top_up_id = signed(10, 1, u16(2) + u64(5_000) + string("INV-2026-001"), seeded_key("coalition billing"))

    # Customer 1: sequence 1, one lot (the issuance below), then the tier state: window 0 with
    # 1250 qualifying points (Silver), tier 2 by partner 3's Gold grant.
    lot = u16(1) + u64(2) + u32(0) + u64(312) + u64(GENESIS_TIME_MS + 2_000) + u64(GENESIS_TIME_MS + 2_000)
    tier_state = leb128(0) + leb128(1_250) + u8(0) + u8(0) + u8(2) + u8(2) + u16(3) + u64(until_ms)
    account_v2 = u8(2) + u64(1) + leb128(1) + lot + tier_state
    # The common case: a first Issue of 50 points, no tier, no grant (6 bytes of tier state).
    account_v2_plain = u8(2) + u64(0) + leb128(1) + lot + leb128(0) + leb128(50) + u8(0) * 4
    # 250 points signed, credited at Silver's x1.25 as 312, in block 2 at index 0.
    # Version 3 puts counts and the block position as LEB128.
    issuance_v3 = (u8(3) + leb128(2) + leb128(0) + CUSTOMER_1 + leb128(312) + u64(GENESIS_TIME_MS + 2_000) + u8(0) +
                   leb128(0) + leb128(0) + u8(1) + leb128(2_599) + leb128(0) + u8(1) + leb128(12_500))

    print("grant_tier      ", grant.hex())
    print("grant_tier id   ", grant_id.hex())
    print("prepaid_top_up  ", top_up.hex())
    print("top_up id       ", top_up_id.hex())
    print("genesis v4      ", genesis.hex(), f"({len(genesis)} bytes)")
    print("genesis v4 hash ", genesis_hash.hex())
    print("state hash 0    ", state_hash_0.hex())
    print("account v2      ", account_v2.hex(), f"({len(account_v2)} bytes)")
    print("account v2 plain", f"{len(account_v2_plain)} bytes, tier state {len(account_v2_plain) - 48}")
    print("issuance v3     ", issuance_v3.hex(), f"({len(issuance_v3)} bytes)")


if __name__ == "__main__":
    main()
