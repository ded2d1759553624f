#!/usr/bin/env python3
"""SCP03 known answers derived from the specification text, not from CCCDKit.

Written from GlobalPlatform Card Specification v2.3 Amendment D (SCP03) v1.1.2: §4.1.5 (the data derivation
function: label of 11 zero bytes and the derivation constant, separation indicator 00, L in bits on 2 bytes, counter
i on 1 byte, context; PRF = AES-CMAC), §4.1.4 and §6.2.1 (session keys: S-ENC constant 04 from K-ENC, S-MAC 06 and
S-RMAC 07 from K-MAC, context = host challenge || card challenge), §6.2.2 (card cryptogram constant 00, host
cryptogram 01, 64 bits, under S-MAC), §6.2.4 (C-MAC over the 16-byte chaining value and the command with its final
Lc; the new chaining value is the whole CMAC; the first 8 bytes are sent; the chaining value starts at 16 zero
bytes), §6.2.6 (C-DECRYPTION: the encryption counter, 16 bytes, incremented before every command; ICV = AES-ECB of
the counter under S-ENC; padding 80 00…, AES-CBC), §6.2.5 (R-MAC over the chaining value, the response data and
SW1 SW2, under S-RMAC, 8 bytes; none on an error status word), §7.1.1 (INITIALIZE UPDATE) and §7.1.2 (EXTERNAL
AUTHENTICATE). AES and CMAC come from Python's `cryptography` package (OpenSSL), nothing from this repository.

The chip-key diversification (constants 21 ENC, 22 MAC, 23 DEK, L = the master's length, context = the 10-byte
key diversification data) is this toolchain's documented use of the same KDF (README, "Blank chips").

Run: python3 scripts/scp03-reference.py > Vectors/gp-amd-d-scp03-derived.txt
"""

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def h(b: bytes) -> str:
    return b.hex().upper()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    c = cmac.CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def kdf(key: bytes, constant: int, bits: int, context: bytes) -> bytes:
    out = b""
    i = 1
    while len(out) * 8 < bits:
        data = bytes(11) + bytes([constant, 0x00]) + bits.to_bytes(2, "big") + bytes([i]) + context
        out += aes_cmac(key, data)
        i += 1
    return out[: bits // 8]


def aes_ecb(key: bytes, block: bytes) -> bytes:
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return e.update(data) + e.finalize()


def pad(data: bytes) -> bytes:
    data += b"\x80"
    while len(data) % 16:
        data += b"\x00"
    return data


class Channel:
    """One SCP03 channel as the host sees it (the chip's side computes the same values)."""

    def __init__(self, enc: bytes, mac: bytes, host: bytes, card: bytes, level: int):
        bits = len(enc) * 8
        context = host + card
        self.s_enc = kdf(enc, 0x04, bits, context)
        self.s_mac = kdf(mac, 0x06, bits, context)
        self.s_rmac = kdf(mac, 0x07, bits, context)
        self.card_cryptogram = kdf(self.s_mac, 0x00, 64, context)
        self.host_cryptogram = kdf(self.s_mac, 0x01, 64, context)
        self.chaining = bytes(16)
        self.counter = 0
        self.level = level

    def mac(self, header: bytes, data: bytes) -> bytes:
        # The MAC covers CLA (with bit 3 set), INS, P1, P2, the final Lc (data + 8) and the data.
        full = aes_cmac(self.s_mac, self.chaining + header + bytes([len(data) + 8]) + data)
        self.chaining = full
        return full[:8]

    def external_authenticate(self) -> bytes:
        header = bytes([0x84, 0x82, self.level, 0x00])
        return header + bytes([16]) + self.host_cryptogram + self.mac(header, self.host_cryptogram)

    def wrap(self, cla: int, ins: int, p1: int, p2: int, data: bytes, le: bool) -> bytes:
        self.counter += 1
        if self.level & 0x02 and data:
            icv = aes_ecb(self.s_enc, self.counter.to_bytes(16, "big"))
            data = aes_cbc(self.s_enc, icv, pad(data))
        header = bytes([cla | 0x04, ins, p1, p2])
        apdu = header + bytes([len(data) + 8]) + data + self.mac(header, data)
        return apdu + (b"\x00" if le else b"")

    def response_mac(self, data: bytes, sw: bytes) -> bytes:
        return aes_cmac(self.s_rmac, self.chaining + data + sw)[:8]


def main() -> None:
    print("# GlobalPlatform Amendment D (SCP03) known answers derived by hand from the specification text by")
    print("# scripts/scp03-reference.py: an implementation written from the text alone over Python cryptography's AES")
    print("# and CMAC, not from CCCDKit and not from another SCP03 implementation's test vectors. Sections: the chip-key")
    print("# diversification (AES-128/192/256), then whole exchanges at security level 13 (C-MAC, C-DECRYPTION,")
    print("# R-MAC: what personalization uses) with AES-128, AES-192 and AES-256 keys.")
    serial = bytes.fromhex("4343000A0B0C0D0E0F10")
    masters = {
        128: bytes.fromhex("00112233445566778899AABBCCDDEEFF"),
        192: bytes.fromhex("000102030405060708090A0B0C0D0E0F1011121314151617"),
        256: bytes.fromhex("603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4"),
    }
    for bits, master in masters.items():
        print()
        print(f"# Diversification, AES-{bits}: KDF(master, constant 21/22/23, L = {bits}, context = serial)")
        print(f"DIV_{bits}_MASTER = {h(master)}")
        print(f"DIV_{bits}_SERIAL = {h(serial)}")
        print(f"DIV_{bits}_ENC = {h(kdf(master, 0x21, bits, serial))}")
        print(f"DIV_{bits}_MAC = {h(kdf(master, 0x22, bits, serial))}")
        print(f"DIV_{bits}_DEK = {h(kdf(master, 0x23, bits, serial))}")

    host = bytes.fromhex("F0E1D2C3B4A59687")
    card = bytes.fromhex("0123456789ABCDEF")
    for bits, master in masters.items():
        enc = kdf(master, 0x21, bits, serial)
        mac = kdf(master, 0x22, bits, serial)
        ch = Channel(enc, mac, host, card, 0x13)
        kvn = 0x30
        print()
        print(f"# Exchange, AES-{bits}, security level 13, the diversified keys above (key version 30)")
        print(f"X_{bits}_INITIALIZE_UPDATE = {h(bytes([0x80, 0x50, kvn, 0x00, 0x08]) + host + bytes([0x00]))}")
        iu = serial + bytes([kvn, 0x03, 0x60]) + card + ch.card_cryptogram
        print(f"X_{bits}_INITIALIZE_UPDATE_RESPONSE = {h(iu)}")
        print(f"X_{bits}_S_ENC = {h(ch.s_enc)}")
        print(f"X_{bits}_S_MAC = {h(ch.s_mac)}")
        print(f"X_{bits}_S_RMAC = {h(ch.s_rmac)}")
        print(f"X_{bits}_EXTERNAL_AUTHENTICATE = {h(ch.external_authenticate())}")
        # 1: CREATE FILE (6 bytes of data, encrypted to one block), answer 9000 with its R-MAC.
        plain1 = bytes.fromhex("6304012C0101")
        print(f"X_{bits}_PLAIN_1 = {h(bytes([0x00, 0xE0, 0x00, 0x00, len(plain1)]) + plain1)}")
        print(f"X_{bits}_WRAPPED_1 = {h(ch.wrap(0x00, 0xE0, 0x00, 0x00, plain1, False))}")
        print(f"X_{bits}_RESPONSE_1 = {h(ch.response_mac(b'', bytes([0x90, 0x00])) + bytes([0x90, 0x00]))}")
        # 2: UPDATE BINARY of 33 bytes (three blocks after padding), answer 9000.
        plain2 = bytes(range(0x40, 0x61))
        print(f"X_{bits}_PLAIN_2 = {h(bytes([0x00, 0xD6, 0x00, 0x10, len(plain2)]) + plain2)}")
        print(f"X_{bits}_WRAPPED_2 = {h(ch.wrap(0x00, 0xD6, 0x00, 0x10, plain2, False))}")
        print(f"X_{bits}_RESPONSE_2 = {h(ch.response_mac(b'', bytes([0x90, 0x00])) + bytes([0x90, 0x00]))}")
        # 3: a command without data and with Le (the counter still moves), answered with data and a 6310 warning.
        print(f"X_{bits}_PLAIN_3 = 80CA00CF00")
        print(f"X_{bits}_WRAPPED_3 = {h(ch.wrap(0x80, 0xCA, 0x00, 0xCF, b'', True))}")
        data3 = bytes.fromhex("CF0A") + serial
        print(f"X_{bits}_RESPONSE_PLAIN_3 = {h(data3 + bytes([0x63, 0x10]))}")
        print(f"X_{bits}_RESPONSE_3 = {h(data3 + ch.response_mac(data3, bytes([0x63, 0x10])) + bytes([0x63, 0x10]))}")
        # 4: PUT DATA of 16 bytes (padding makes a second block), answered with an error: no R-MAC.
        plain4 = bytes(range(0x10, 0x20))
        print(f"X_{bits}_PLAIN_4 = {h(bytes([0x00, 0xDA, 0x00, 0x70, len(plain4)]) + plain4)}")
        print(f"X_{bits}_WRAPPED_4 = {h(ch.wrap(0x00, 0xDA, 0x00, 0x70, plain4, False))}")
        print(f"X_{bits}_RESPONSE_4 = 6A80")


if __name__ == "__main__":
    main()
