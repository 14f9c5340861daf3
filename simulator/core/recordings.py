"""Call recordings: real, playable MP3 and a word-level transcript.

The audio is MPEG-2 Layer III, 16 kHz mono at 8 kbit/s (36-byte frames of 36 ms each):
valid frames a player opens and ``file`` calls "MPEG ADTS, layer III". The frames carry
silence (zero side information), so the file size is exactly bounded: 1 KB per second
of talk, capped at ``MAX_SECONDS``.

A two-sided recording (``channels="both"``) is dual-channel (channel 1 the caller, channel 2
the callee), and each side alone (``"rx"`` what the employee heard, ``"tx"`` what they said)
is mono and marked in the frame header (private bit on ``rx``, original bit on ``tx``), so the
three files of one call are different audio files of the same length.
"""

from __future__ import annotations

import random

from .seed import faker_for

FRAME_MS = 36
_HEADER = bytes((0xFF, 0xF3, 0x18, 0xC0))   # MPEG-2, layer III, no CRC, 8 kbps, 16 kHz, mono
_FRAME = _HEADER + bytes(36 - len(_HEADER))  # 9 bytes of zero side info + empty main data
# byte 3 mode bits 10 = dual channel (17 bytes of zero side info); byte 2 bit 0 = private,
# byte 3 bit 2 = original
_FRAMES = {
    None: _FRAME,
    "both": bytes((0xFF, 0xF3, 0x18, 0x80)) + bytes(32),
    "rx": bytes((0xFF, 0xF3, 0x19, 0xC0)) + bytes(32),
    "tx": bytes((0xFF, 0xF3, 0x18, 0xC4)) + bytes(32),
}
MAX_SECONDS = 3 * 3600


def mp3_frames(seconds: float) -> int:
    seconds = max(1.0, min(float(seconds), MAX_SECONDS))
    return int(seconds * 1000 // FRAME_MS) + 1


def mp3_bytes(seconds: float, channels: str | None = None) -> bytes:
    """A playable MP3 of ``seconds`` length (at least one second); ``channels``: None (mono),
    ``"both"`` (dual channel), ``"rx"`` / ``"tx"`` (one side, mono)."""
    return _FRAMES[channels] * mp3_frames(seconds)


def mp3_duration(data: bytes) -> float:
    """Seconds of audio in a file ``mp3_bytes`` made (for tests)."""
    return len(data) // len(_FRAME) * FRAME_MS / 1000


def transcript(call_id: str, talk_s: float, locale: str = "ru_RU") -> list[dict]:
    """Words of a conversation, alternating channels A (caller) and B (callee), with
    start and end times in seconds from the start of the recording. The same call id gives
    the same words."""
    rng = random.Random(call_id)
    fake = faker_for(locale)
    fake.seed_instance(rng.randrange(1 << 30))
    words: list[dict] = []
    t = 0.5
    channel = "A"
    talk_s = max(0.0, float(talk_s))
    while t < talk_s - 0.5:
        for word in fake.sentence(nb_words=rng.randint(3, 9)).rstrip(".").split():
            length = 0.15 + 0.06 * len(word)
            if t + length > talk_s:
                break
            words.append({"channel": channel, "startTime": round(t, 2),
                          "endTime": round(t + length, 2), "word": word.lower()})
            t += length + 0.08
        t += rng.uniform(0.3, 1.2)
        channel = "B" if channel == "A" else "A"
    return words
